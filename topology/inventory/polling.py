"""Polling a daemon: read it through the engine layer, reconcile (which publishes what changed),
find nested daemons.

``poll_target`` is the action behind the Celery task, the events watcher and the
``poll_daemons --once`` command.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.conf import settings

from topology.engine.connection import EngineError
from topology.engine.nesting import (
    SAME_MACHINE,
    PathMap,
    bind_path_map,
    looks_like_dind,
    nested_route,
    path_here,
)
from topology.engine.reading import open_reader
from topology.engine.types import (
    Attachment,
    ContainerInfo,
    DaemonSnapshot,
    Mount,
    NetworkInfo,
    Route,
)
from topology.inventory import locks, services
from topology.inventory.changes import ChangeSet
from topology.inventory.models import Container, Daemon, Endpoint
from topology.inventory.services import Place

logger = logging.getLogger(__name__)

INSPECT_CONCURRENCY = 8
RECENT_START = timedelta(seconds=5)  # a DinD entrypoint may not have exec'd dockerd yet


@dataclass(frozen=True)
class Target:
    """A daemon to poll: the route to it and where it sits."""

    route: Route
    place: Place = field(default_factory=Place)
    endpoint_pk: int | None = None
    depth: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Task arguments; they wait in Redis, so private keys stay out (``from_dict`` reads
        them back from the registered engine)."""
        return {
            "route": self.route.without_secrets().to_dict(),
            "place": self.place.to_dict(),
            "endpoint_pk": self.endpoint_pk,
            "depth": self.depth,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        return cls(
            route=_with_secrets(Route.from_dict(data["route"])),
            place=Place(**data["place"]),
            endpoint_pk=data.get("endpoint_pk"),
            depth=data.get("depth", 0),
        )


def _with_secrets(route: Route) -> Route:
    if route.via is not None:
        return replace(route, via=_with_secrets(route.via))
    if route.scheme not in {"tcp", "ssh"}:
        return route
    endpoint = Endpoint.objects.filter(url=route.url).first()
    return endpoint.route if endpoint else route


@dataclass
class PollResult:
    target: Target
    engine_id: str | None = None
    changes: ChangeSet = field(default_factory=ChangeSet)
    nested: list[Target] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False


def root_targets() -> list[Target]:
    """The local engine (no configuration needed) and every enabled registered engine."""
    targets = [Target(Route(url=settings.DOCKER_HOST, insecure=settings.DOCKER_HOST_INSECURE))]
    for endpoint in Endpoint.objects.filter(enabled=True):
        if endpoint.url == settings.DOCKER_HOST:
            continue
        targets.append(Target(endpoint.route, Place(), endpoint_pk=endpoint.pk))
    return targets


def _route_of(daemon: Daemon, roots: dict[str, Target]) -> Route | None:
    if daemon.container_id is None:
        root = roots.get(daemon.endpoint)
        return root.route if root else Route(url=daemon.endpoint)
    if daemon.access != Daemon.Access.EXEC:
        return Route(url=daemon.endpoint, insecure=daemon.endpoint.startswith("tcp://"))
    parent = daemon.container.daemon
    via = _route_of(parent, roots)
    return Route(url=f"exec://{daemon.container.container_id}", via=via) if via else None


def routes_to(daemons: Iterable[Daemon]) -> dict[int, Route]:
    """The route that reaches each daemon (registered engines with their secrets), by pk, for
    reading what a poll does not: stats, logs, a terminal."""
    roots = {t.route.url: t for t in root_targets()}
    routes = {}
    for daemon in daemons:
        route = _route_of(daemon, roots)
        if route is not None:
            routes[daemon.pk] = route
    return routes


def longest_unread_first(targets: list[Target]) -> list[Target]:
    """``targets`` in the order they fell due: never polled first, then the longest unread."""
    polled = locks.last_polled([t.route.key for t in targets])
    ordered = sorted(
        zip(polled, range(len(targets)), targets, strict=True), key=lambda p: (p[0] or 0.0, p[1])
    )
    return [target for _at, _n, target in ordered]


def known_nested_targets() -> list[Target]:
    """Nested daemons already in the database, with the route that reaches each."""
    roots = {t.route.url: t for t in root_targets()}
    targets = []
    daemons = Daemon.objects.filter(container__isnull=False).select_related(
        "container__daemon__container__daemon"
    )
    for daemon in daemons:
        route = _route_of(daemon, roots)
        if route is None:
            continue
        parent = daemon.container.daemon
        place = Place(
            parent_engine_id=parent.engine_id, container_hex=daemon.container.container_id
        )
        targets.append(Target(route, place, depth=daemon.nesting))
    return targets


def needs_inspect(
    listed: list[ContainerInfo], known: dict[str, services.KnownContainer]
) -> list[ContainerInfo]:
    """What a listing holds that is new or changed since the last read, or started so recently
    that its dockerd may not run yet (a quiet poll inspects nothing).

    A listing says which networks a container is on, with its addresses, but not its aliases:
    a container whose addresses changed (connected, disconnected) is inspected, any other keeps
    the aliases known (``merge_inspected``).
    """

    def stale(container: ContainerInfo) -> bool:
        old = known.get(container.id)
        return (
            old is None
            or old.state != container.state
            or (container.state == "running" and old.role != "dind" and old.recently_started)
            or old.health != container.health
            or (container.health != "none" and old.health_due)
            or _addresses(container.attachments) != _addresses(old.attachments)
            or old.client_pending
        )

    return [c for c in listed if stale(c)]


def completed_by(container: ContainerInfo, detail: ContainerInfo) -> ContainerInfo:
    """A listed container with what only its inspect says."""
    return replace(
        container,
        privileged=detail.privileged,
        started_at=detail.started_at,
        runs_dockerd=detail.runs_dockerd,
        health=detail.health,
        health_detail=detail.health_detail,
        attachments=detail.attachments,
        network_mode=detail.network_mode or container.network_mode,
        client_address=detail.client_address,
    )


def _complete(reader: Any, listed: list[ContainerInfo], engine_id: str) -> list[ContainerInfo]:
    """Inspect only what is new or changed since the last poll (``needs_inspect``).

    Inspections run a few at a time: the first poll of a busy engine waits on the engine, not
    on us.
    """
    known = services.known_containers(engine_id, RECENT_START)

    def completed(container: ContainerInfo) -> ContainerInfo | None:
        if container.privileged is None:
            detail = reader.inspect(container.id)
            if detail is None:  # removed between list and inspect: gone, not an error
                return None
            return completed_by(container, detail)
        if container.state == "running":
            return replace(container, runs_dockerd=reader.runs_dockerd(container.id))
        return container

    stale = needs_inspect(listed, known)
    with ThreadPoolExecutor(max_workers=INSPECT_CONCURRENCY) as pool:
        fresh = {c.id: c for c in pool.map(completed, stale) if c is not None}
    return merge_inspected(listed, stale, fresh, known)


def merge_inspected(
    listed: list[ContainerInfo],
    inspected: list[ContainerInfo],
    fresh: dict[str, ContainerInfo],
    known: dict[str, services.KnownContainer],
) -> list[ContainerInfo]:
    """The listing with what was inspected put in (inspected and not found is gone), and the
    known aliases kept for the rest."""
    gone = {c.id for c in inspected} - fresh.keys()
    return [
        fresh[c.id] if c.id in fresh else _with_known_aliases(c, known.get(c.id))
        for c in listed
        if c.id not in gone
    ]


def _addresses(attachments: tuple[Attachment, ...]) -> set[tuple[str, str, str]]:
    return {(a.network_id, a.ipv4, a.ipv6) for a in attachments}


def _with_known_aliases(container: ContainerInfo, old: services.KnownContainer | None) -> Any:
    """A listed container with the aliases its last inspect gave (a listing has none)."""
    if old is None or all(a.aliases is not None for a in container.attachments):
        return container
    aliases = {a.network_id: a.aliases for a in old.attachments}
    return replace(
        container,
        attachments=tuple(
            a if a.aliases is not None else replace(a, aliases=aliases.get(a.network_id) or ())
            for a in container.attachments
        ),
    )


def _complete_networks(reader: Any, listed: list[NetworkInfo], engine_id: str) -> list[Any]:
    """Inspect the networks a CLI listing line cannot describe whole (its address plan) when
    they are new or changed; an API listing is complete and costs nothing more."""
    partial = [n for n in listed if not n.complete]
    if not partial:
        return listed
    known = services.known_networks(engine_id)
    wanted = [n.id for n in partial if known.get(n.id) != (n.name, n.driver, n.scope)]
    inspected = {n.id: n for n in reader.inspect_networks(wanted)} if wanted else {}
    return [inspected.get(n.id, n) for n in listed]


def known_elsewhere(engine_id: str, target: Target) -> str | None:
    """Why ``target`` may not reconcile the engine ``engine_id`` (None: it may).

    An engine stays where it was first found: a root route (a registration, or the local
    engine) that leads to an engine another registration, the local engine or a DinD container
    already has never moves it, and neither does a nested route to a reachable engine known in
    another place (a cycle, or a known daemon's socket mounted into a ``*:dind`` container).
    """
    registration = target.endpoint_pk
    if registration is not None and not Endpoint.objects.filter(pk=registration).exists():
        return f"{target.route.url}: its registration was removed"
    daemon = Daemon.objects.select_related("container").filter(engine_id=engine_id).first()
    if daemon is None:
        return None
    already = f"{target.route.url} leads to {engine_id}, already known elsewhere"
    if target.place.nested:
        same_place = daemon.container is not None and (
            daemon.container.container_id == target.place.container_hex
        )
        return already if not same_place and daemon.reachable else None
    if daemon.container_id is not None or daemon.registered_endpoint_id != target.endpoint_pk:
        return already
    return None


def path_map_for(target: Target) -> PathMap:
    """Where the paths of the polled daemon's machine are on ours (empty: nowhere).

    A root daemon on a local socket shares our filesystem; a daemon nested in a container
    shares the folders bind-mounted into that container, as far as those are ours.
    """
    if not target.place.nested:
        return SAME_MACHINE if target.route.scheme == "unix" and target.route.via is None else ()
    chain = []
    row = (
        Container.objects.select_related("daemon")
        .filter(daemon__engine_id=target.place.parent_engine_id)
        .filter(container_id=target.place.container_hex)
        .first()
    )
    while row is not None:
        chain.append(row)
        parent = row.daemon
        if parent.container_id is None:
            if not (parent.endpoint.startswith("unix://") and parent.access == "socket"):
                return ()
            break
        row = Container.objects.select_related("daemon").filter(pk=parent.container_id).first()
    else:
        return ()
    path_map: PathMap = SAME_MACHINE
    for nest in reversed(chain):
        mounts = [Mount(m["type"], m["source"], m["destination"], m["rw"]) for m in nest.mounts]
        path_map = tuple(
            (there, here)
            for there, source in bind_path_map(mounts)
            if (here := path_here(source, path_map)) is not None
        )
    return path_map


def _nested_targets(
    target: Target, engine_id: str, containers: list[ContainerInfo], path_map: PathMap
) -> list[Target]:
    if target.depth >= settings.TOPOLOGY_MAX_NESTING:
        return []
    dind_ids = set(
        Container.objects.filter(daemon__engine_id=engine_id, role=Container.Role.DIND).values_list(
            "container_id", flat=True
        )
    )
    nested = []
    for container in containers:
        if container.id in dind_ids or looks_like_dind(container):
            nested.append(
                Target(
                    route=nested_route(
                        container, target.route, path_map, settings.TOPOLOGY_LABEL_KEY
                    ),
                    place=Place(parent_engine_id=engine_id, container_hex=container.id),
                    depth=target.depth + 1,
                )
            )
    return nested


def _read(target: Target) -> DaemonSnapshot:
    reader = open_reader(
        target.route,
        connect_timeout=settings.TOPOLOGY_DOCKER_CONNECT_TIMEOUT,
        read_timeout=settings.TOPOLOGY_DOCKER_READ_TIMEOUT,
        tls_dir=settings.RUN_DIR / "tls",
    )
    try:
        info = reader.info()
        listed = reader.list_containers()
        networks = volumes = images = None
        if settings.TOPOLOGY_DISCOVER_NETWORKS:
            networks = tuple(_complete_networks(reader, reader.list_networks(), info.engine_id))
        if settings.TOPOLOGY_DISCOVER_VOLUMES:
            volumes = tuple(reader.list_volumes())
        if settings.TOPOLOGY_DISCOVER_IMAGES:
            images = tuple(reader.list_images())
        containers = tuple(_complete(reader, listed, info.engine_id))
        return DaemonSnapshot(target.route, info, containers, networks, volumes, images)
    finally:
        reader.close()


def poll_target(target: Target, *, publish: bool = True, lock_required: bool = True) -> PollResult:
    """Poll one daemon; returns what changed and the nested daemons found inside it."""
    result = PollResult(target)
    with locks.poll_lock(target.route.key, required=lock_required) as held:
        if not held:
            result.skipped = True
            return result
        for _ in range(3):
            changes = _poll_once(target, result, publish)
            result.changes.absorb(changes)
            if not locks.take_dirty(target.route.key):
                break
    return result


def _poll_once(target: Target, result: PollResult, publish: bool) -> ChangeSet:
    result.error = None
    try:
        snapshot = _read(target)
    except EngineError as error:
        result.error = str(error)
        return services.mark_unreachable(target.route, target.place, str(error), publish=publish)
    return apply_snapshot(target, snapshot, result, publish)


def apply_snapshot(
    target: Target, snapshot: DaemonSnapshot, result: PollResult, publish: bool = True
) -> ChangeSet:
    """Reconcile what was read of ``target`` (unless it is known elsewhere); ``result`` gets
    its engine ID and the nested daemons found inside."""
    engine_id = snapshot.info.engine_id
    result.engine_id = engine_id
    refused = known_elsewhere(engine_id, target)
    if refused is not None:
        result.skipped = True
        result.error = refused
        return ChangeSet()
    path_map = path_map_for(target)
    changes = services.reconcile(
        snapshot, target.place, path_map, target.endpoint_pk, publish=publish
    )
    result.nested = _nested_targets(target, engine_id, list(snapshot.containers), path_map)
    return changes


def poll_everything(*, publish: bool = True, lock_required: bool = True) -> list[PollResult]:
    """One synchronous pass over every daemon, nested ones found on the way (cycle-guarded)."""
    results: list[PollResult] = []
    visited_engines: set[str] = set()
    queue = root_targets()
    queued = {t.route.key for t in queue}
    for target in known_nested_targets():
        if target.route.key not in queued:
            queue.append(target)
            queued.add(target.route.key)
    while queue:
        target = queue.pop(0)
        result = poll_target(target, publish=publish, lock_required=lock_required)
        results.append(result)
        if result.engine_id in visited_engines:
            continue
        if result.engine_id:
            visited_engines.add(result.engine_id)
        for nested in result.nested:
            if nested.route.key not in queued:
                queue.append(nested)
                queued.add(nested.route.key)
    services.prune_stale(publish=publish)
    return results
