"""The one place that changes the inventory: reconcile what an engine said into the database.

Each action runs in one transaction, writes only what differs, bumps the graph version when
something changed, and returns a ``ChangeSet`` that carries the graph delta. Unless told not
to, it publishes that delta once the transaction commits, so no client hears of a row that
is not there yet.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from topology.engine.clients import Candidate, Client, resolve
from topology.engine.connection import EngineError, EngineUnreachable
from topology.engine.demos import creation_claims
from topology.engine.nesting import (
    PathMap,
    looks_like_dind,
    socket_paths,
    socket_target,
)
from topology.engine.reading import open_reader
from topology.engine.types import Attachment, ContainerInfo, DaemonSnapshot, Health, Route
from topology.inventory import (
    broadcast,
    connectivity_services,
    graph,
    image_services,
    provenance,
)
from topology.inventory.changes import ChangeSet
from topology.inventory.connectivity_services import RowChanges
from topology.inventory.digests import fingerprint
from topology.inventory.inserts import insert_rows
from topology.inventory.models import (
    Container,
    Daemon,
    Endpoint,
    GraphRevision,
    Host,
    Status,
    TerminalSession,
)
from topology.inventory.queries import load_rows


@dataclass(frozen=True)
class Place:
    """Where a daemon runs: on a host (root), or inside a container of another daemon."""

    host_name: str | None = None
    parent_engine_id: str | None = None
    container_hex: str | None = None

    @property
    def nested(self) -> bool:
        return self.container_hex is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host_name": self.host_name,
            "parent_engine_id": self.parent_engine_id,
            "container_hex": self.container_hex,
        }


@dataclass(frozen=True)
class KnownContainer:
    state: str
    privileged: bool
    role: str
    recently_started: bool
    health: str = "none"
    health_due: bool = False  # unhealthy or starting, and its probes last read a while ago
    attachments: tuple[Attachment, ...] = ()
    client_pending: bool = False


HEALTH_REFRESH = timedelta(seconds=15)
"""How often the probes of a container that is not healthy are read again (its failing streak
grows with every probe while the listing's word stays the same)."""


def _publish_on_commit(changes: ChangeSet, publish: bool) -> ChangeSet:
    if publish and changes:
        transaction.on_commit(partial(broadcast.publish, changes))
    return changes


def bump_version() -> tuple[int, int]:
    """Raise the graph version by one, inside the caller's transaction: ``(since, version)``."""
    if not GraphRevision.objects.filter(pk=1).update(number=F("number") + 1):
        GraphRevision.objects.create(pk=1, number=1)
    version = GraphRevision.current()
    return version - 1, version


def known_containers(engine_id: str, recent: timedelta) -> dict[str, KnownContainer]:
    """What the database knows of a daemon's containers, to decide which need inspecting."""
    now = timezone.now()
    since = now - recent
    rows = Container.objects.filter(daemon__engine_id=engine_id, stale=False).values_list(
        "container_id",
        "state",
        "privileged",
        "role",
        "created",
        "health",
        "health_log",
        "attachments",
        "sets_docker_host",
        "client_target",
    )
    return {
        row[0]: KnownContainer(
            row[1],
            row[2],
            row[3],
            bool(row[4] and row[4] > since),
            row[5],
            _health_due(row[5], row[6], now),
            tuple(_attachment(item) for item in row[7] or ()),
            client_pending=row[8] and row[9] is None,
        )
        for row in rows
    }


def _health_due(health: str, log: Any, now: datetime) -> bool:
    if health not in ("unhealthy", "starting"):
        return False
    read_at = parse_datetime(log.get("read_at") or "") if isinstance(log, dict) else None
    return read_at is None or now - read_at >= HEALTH_REFRESH


def _health_before(daemon: Daemon, snapshot: DaemonSnapshot) -> dict[str, tuple[str, Any]]:
    """The stored health of the containers whose health record this snapshot carries (none in
    a quiet poll: a listing has only the word)."""
    read = [info.id for info in snapshot.containers if info.health_detail is not None]
    if not read:
        return {}
    rows = Container.objects.filter(daemon=daemon, container_id__in=read)
    return {
        hex_id: (health, log)
        for hex_id, health, log in rows.values_list("container_id", "health", "health_log")
    }


def _new_health_log(
    info: ContainerInfo, before: tuple[str, Any] | None, now: datetime
) -> dict[str, Any] | None:
    """The health record to store for ``info``, or None to keep what is stored: it is read
    again when the health changes, and every ``HEALTH_REFRESH`` while not healthy."""
    detail = info.health_detail
    if detail is None:
        return None
    if detail.status == "none":
        return {} if before is None or before[1] != {} else None
    if before is None or before[0] != info.health or _health_due(before[0], before[1], now):
        return health_log(detail, now)
    return None


def same_probes(before: Any, after: Any) -> bool:
    """Whether two stored health records say the same (when they were read aside)."""
    strip = lambda log: {k: v for k, v in (log or {}).items() if k != "read_at"}  # noqa: E731
    return strip(before) == strip(after)


def health_log(detail: Health, read_at: datetime) -> dict[str, Any]:
    """What is kept of an inspect's health record (bounded by the engine layer)."""
    return {
        "failing_streak": detail.failing_streak,
        "probes": [
            {
                "start": probe.start.isoformat() if probe.start else None,
                "end": probe.end.isoformat() if probe.end else None,
                "exit_code": probe.exit_code,
                "output": probe.output,
            }
            for probe in detail.probes
        ],
        "read_at": read_at.isoformat(),
    }


def _attachment(item: dict[str, Any]) -> Attachment:
    aliases = item.get("aliases")
    return Attachment(
        network_id=item.get("network_id") or "",
        network_name=item.get("name") or "",
        ipv4=item.get("ipv4") or "",
        ipv6=item.get("ipv6") or "",
        aliases=tuple(aliases) if aliases is not None else None,
    )


def known_networks(engine_id: str) -> dict[str, tuple[str, str, str]]:
    return connectivity_services.known_networks(engine_id)


def _local_daemon_routes() -> list[tuple[str, Route]]:
    rows = Daemon.objects.filter(endpoint__startswith="unix://").values_list(
        "engine_id", "endpoint"
    )
    return [(engine_id, Route(url=endpoint)) for engine_id, endpoint in rows]


def _container_fields(
    info: ContainerInfo, old: _Known | None, sockets: dict[str, str], nested_engine: str | None
) -> dict[str, Any]:
    privileged = info.privileged if info.privileged is not None else bool(old and old.privileged)
    dind = looks_like_dind(info)
    if info.runs_dockerd is None and old is not None and old.role == Container.Role.DIND:
        dind = True
    target_engine = socket_target(info, sockets, own_nested=nested_engine)
    role = Container.Role.DIND if dind else Container.Role.PLAIN
    if target_engine and not dind:
        role = Container.Role.DOOD
    return {
        "name": info.name,
        "image": info.image,
        "image_id": info.image_id,
        "role": role,
        "privileged": privileged,
        "state": info.state,
        "created": info.created,
        "labels": info.labels,
        "mounts": [_mount_fields(m) for m in info.mounts],
        "ports": [
            {"ip": p.ip, "private": p.private_port, "public": p.public_port, "protocol": p.protocol}
            for p in info.ports
        ],
        "networks": list(info.networks),
        "attachments": [
            {
                "network_id": a.network_id,
                "name": a.network_name,
                "ipv4": a.ipv4,
                "ipv6": a.ipv6,
                "aliases": list(a.aliases or ()),
            }
            for a in info.attachments
        ],
        "network_mode": info.network_mode,
        "socket_target_engine": target_engine,
        "health": info.health,
        "stale": False,
    }


def _mount_fields(mount: Any) -> dict[str, Any]:
    fields = {
        "type": mount.type,
        "source": mount.source,
        "destination": mount.destination,
        "rw": mount.read_write,
    }
    if mount.type == "volume":
        fields |= {"name": mount.name, "driver": mount.driver}
    return fields


def _new_host(name: str, *, engine_id: str = "", team_id: int | None = None) -> Host:
    """A host of the project's own naming; its slug (the node id) is never another host's."""
    base = slugify(name)[:90] or "host"
    slug, number = base, 2
    while Host.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return Host.objects.create(
        slug=slug, name=name[:255] or slug, engine_id=engine_id, team_id=team_id
    )


def _host_for(place: Place, snapshot: DaemonSnapshot, endpoint_pk: int | None) -> tuple[Host, bool]:
    """The host of a root daemon, as the project decided it: a registered engine's is its
    registration's host (made at the first poll, named and teamed after the registration); any
    other root engine's (the local one) is the host founded by its engine ID. Never the host
    whose name the engine reports."""
    if endpoint_pk is not None:
        endpoint = Endpoint.objects.select_related("host__team").get(pk=endpoint_pk)
        host, created = endpoint.host, False
        if host is None:
            host, created = _new_host(endpoint.name, team_id=endpoint.team_id), True
            Endpoint.objects.filter(pk=endpoint_pk).update(host=host)
    else:
        engine_id = snapshot.info.engine_id
        host = Host.objects.select_related("team").filter(engine_id=engine_id).first()
        created = host is None
        if host is None:
            name = place.host_name or snapshot.info.name or "unknown"
            host = _new_host(name, engine_id=engine_id)
    if host.status != Status.UP:
        host.status = Status.UP
        host.last_seen = timezone.now()
        host.save(update_fields=["status", "last_seen"])
        created = True
    return host, created


def _subtree(container_pks: Iterable[int]) -> tuple[list[str], list[str]]:
    """Node and edge ids under these containers (nested daemons, their containers, deeper)."""
    nodes: list[str] = []
    edges: list[str] = []
    frontier = list(container_pks)
    while frontier:
        daemons = list(Daemon.objects.filter(container_id__in=frontier))
        nodes += [graph.daemon_id(d.engine_id) for d in daemons]
        nodes += connectivity_services.node_ids_under(daemons)
        nodes += image_services.node_ids_under(daemons)
        edges += _edges_into(daemons)
        inner = list(
            Container.objects.filter(daemon__in=daemons).select_related(
                "socket_target", "client_target"
            )
        )
        nodes += [graph.container_id(c.container_id) for c in inner]
        edges += _edges_from(inner)
        edges += [
            graph.created_edge_id(c.created_by, c.container_id) for c in inner if c.created_by
        ]
        frontier = [c.pk for c in inner]
    return nodes, edges


def _edges_into(daemons: list[Daemon]) -> list[str]:
    """Socket and client edges that end at these daemons."""
    socket = Container.objects.filter(socket_target__in=daemons).values_list(
        "container_id", "socket_target__engine_id"
    )
    client = Container.objects.filter(client_target__in=daemons).values_list(
        "container_id", "client_target__engine_id"
    )
    return [graph.socket_edge_id(*pair) for pair in socket] + [
        graph.client_edge_id(*pair) for pair in client
    ]


def _edges_from(rows: Iterable[Container]) -> list[str]:
    """Socket and client edges that start at these containers (targets selected)."""
    edges = []
    for row in rows:
        if row.socket_target_id:
            edges.append(graph.socket_edge_id(row.container_id, row.socket_target.engine_id))
        if row.client_target_id:
            edges.append(graph.client_edge_id(row.container_id, row.client_target.engine_id))
    return edges


def _daemon_node(daemon: Daemon) -> dict[str, Any]:
    """The daemon's node as the graph draws it: stale while the DinD container it runs in is."""
    stale = daemon.container_id is not None and daemon.container.stale
    return graph.daemon_node(daemon, _daemon_parent_id(daemon), stale)


def _daemon_parent_id(daemon: Daemon) -> str:
    if daemon.container_id:
        return graph.container_id(daemon.container.container_id)
    return graph.host_id(daemon.host)


@transaction.atomic
def reconcile(
    snapshot: DaemonSnapshot,
    place: Place,
    path_map: PathMap = (),
    endpoint_pk: int | None = None,
    *,
    publish: bool = True,
) -> ChangeSet:
    """Make the database say what ``snapshot`` says of one daemon; return what changed.

    One engine is one daemon node, one container one container node, whatever reached them:
    a container another daemon held moves to this one; a different engine found where a daemon
    was (its endpoint, its DinD container) replaces it. A place that cannot be (its container
    is gone, or it would put the engine inside itself) changes nothing.
    """
    changes = ChangeSet()
    info = snapshot.info
    daemon = (
        Daemon.objects.select_related("host", "container").filter(engine_id=info.engine_id).first()
    )
    rows = RowChanges(was_stale=daemon is not None and _is_stale(daemon))

    wanted: dict[str, Any] = {
        "name": info.name,
        "version": info.version,
        "api_version": info.api_version,
        "operating_system": info.operating_system,
        "engine": info.engine,
        "identity": info.identity,
        "status": Status.UP,
        "last_error": "",
        "unreachable_since": None,
    }
    if place.nested:
        parent_container = (
            Container.objects.select_related("daemon")
            .filter(daemon__engine_id=place.parent_engine_id, container_id=place.container_hex)
            .first()
        )
        if parent_container is None or _inside(parent_container, info.engine_id):
            return changes
        for occupant in Daemon.objects.filter(container=parent_container).exclude(
            engine_id=info.engine_id
        ):
            _remove_daemon(occupant, changes)
        wanted |= {
            "container": parent_container,
            "host": None,
            "nesting": parent_container.daemon.nesting + 1,
        }
    else:
        host, host_changed = _host_for(place, snapshot, endpoint_pk)
        if host_changed:
            changes.delta.upsert_nodes.append(graph.host_node(host))
        wanted |= {"host": host, "container": None, "nesting": 0}
        _replaced_at(snapshot.route.url, info.engine_id, changes)
    if endpoint_pk is not None:
        wanted["registered_endpoint_id"] = endpoint_pk
    # The same engine reached two ways is one daemon: keep the route it already has while
    # that route works, so two routes do not make it flap.
    if daemon is None or daemon.status != Status.UP or not daemon.endpoint:
        wanted |= {"endpoint": snapshot.route.url, "access": _access(snapshot.route)}

    moves = daemon is not None and (
        daemon.container_id != getattr(wanted["container"], "pk", None)
        or daemon.host_id != getattr(wanted["host"], "pk", None)
    )
    if moves and daemon.container_id is None:
        connectivity_services.host_paths_without(
            list(Container.objects.filter(daemon=daemon)), changes.delta
        )
    if daemon is None:
        daemon = Daemon.objects.create(engine_id=info.engine_id, last_seen=timezone.now(), **wanted)
        changes.added += 1
        changes.delta.upsert_nodes.append(_daemon_node(daemon))
    else:
        different = [name for name, value in wanted.items() if getattr(daemon, name) != value]
        if different:
            for name in different:
                setattr(daemon, name, wanted[name])
            daemon.last_seen = timezone.now()
            daemon.save(update_fields=[*different, "last_seen"])
            changes.changed += 1
            changes.delta.upsert_nodes.append(_daemon_node(daemon))

    _reconcile_containers(daemon, snapshot, path_map, changes, rows)
    rows.is_stale = _is_stale(daemon)
    if snapshot.networks is not None:
        connectivity_services.reconcile_networks(daemon, snapshot.networks, rows)
    if snapshot.volumes is not None:
        connectivity_services.reconcile_volumes(daemon, snapshot.volumes, rows)
    images = None
    if snapshot.images is not None:
        images = image_services.reconcile_images(daemon, snapshot.images)
    connectivity_services.add_derived_delta(daemon, rows, changes.delta)
    image_services.add_image_delta(daemon, rows, images, changes.delta)
    image_services.settle_registries(changes.delta)
    if moves and daemon.container_id is None:
        connectivity_services.host_paths_without(
            list(Container.objects.filter(daemon=daemon)), changes.delta, arriving=True
        )
    settle(changes.delta)
    if changes:
        changes.since, changes.version = bump_version()
    return _publish_on_commit(changes, publish)


def _inside(container: Container, engine_id: str) -> bool:
    """Whether ``container`` runs, at any depth, on the engine ``engine_id`` (nesting that
    engine in it would make it its own ancestor)."""
    seen: set[int] = set()
    daemon: Daemon | None = container.daemon
    while daemon is not None and daemon.pk not in seen:
        if daemon.engine_id == engine_id:
            return True
        seen.add(daemon.pk)
        holder = Container.objects.select_related("daemon").filter(pk=daemon.container_id).first()
        daemon = holder.daemon if holder else None
    return False


def _remove_daemon(daemon: Daemon, changes: ChangeSet) -> None:
    """Another engine runs in this daemon's container now: it and all it held are gone."""
    assert daemon.container_id is not None
    nodes, edges = _subtree([daemon.container_id])
    changes.delta.remove_nodes += nodes
    changes.delta.remove_edges += edges
    changes.removed += 1
    gone = _daemons_under([daemon.container_id])
    clients = _clients_of(gone)
    daemon.delete()
    _redraw(clients, changes)


def _daemons_under(container_pks: Iterable[int]) -> set[int]:
    """The daemons running in these containers, at any depth."""
    found: set[int] = set()
    frontier = set(container_pks)
    while frontier:
        daemons = set(Daemon.objects.filter(container__in=frontier).values_list("pk", flat=True))
        daemons -= found
        found |= daemons
        frontier = set(Container.objects.filter(daemon__in=daemons).values_list("pk", flat=True))
    return found


def _clients_of(daemon_pks: set[int]) -> list[int]:
    """Containers whose socket or client edge leads to one of these daemons (which go)."""
    if not daemon_pks:
        return []
    return list(
        Container.objects.filter(
            Q(socket_target__in=daemon_pks) | Q(client_target__in=daemon_pks)
        ).values_list("pk", flat=True)
    )


def _redraw(container_pks: list[int], changes: ChangeSet) -> None:
    """Upsert these containers as they are now (their edge's daemon went: what the node says
    of it changes; their next poll writes the rest)."""
    for row in Container.objects.filter(pk__in=container_pks).select_related("daemon"):
        changes.delta.upsert_nodes.append(graph.container_node(row, row.daemon.engine_id))


def _replaced_at(url: str, engine_id: str, changes: ChangeSet) -> None:
    """Root daemons last reached at ``url`` that are not ``engine_id``: the engine there is
    another one now, so they no longer answer there (unreachable; pruned after the grace)."""
    others = Daemon.objects.select_related("host", "container").filter(
        container__isnull=True, endpoint=url, status=Status.UP
    )
    for other in others.exclude(engine_id=engine_id):
        _mark_down(other, f"{url} answers as another engine now ({engine_id})", changes)


def settle(delta: graph.GraphDelta) -> None:
    """Make a delta say where things end, as a client applies it (upserts first, then
    removals; see ``invariants.apply_delta``): what one action both removed and upserted (a
    container that moved, a node made again) ends as the graph now has it, present or not."""
    delta.remove_nodes = _unique(delta.remove_nodes)
    delta.remove_edges = _unique(delta.remove_edges)
    both_nodes = set(delta.remove_nodes) & {node["id"] for node in delta.upsert_nodes}
    both_edges = set(delta.remove_edges) & {edge["id"] for edge in delta.upsert_edges}
    if not (both_nodes or both_edges):
        return
    nodes, edges = graph.nodes_and_edges(load_rows())
    now_nodes = {node["id"]: node for node in nodes if node["id"] in both_nodes}
    now_edges = {edge["id"]: edge for edge in edges if edge["id"] in both_edges}
    delta.remove_nodes = [i for i in delta.remove_nodes if i not in now_nodes]
    delta.remove_edges = [i for i in delta.remove_edges if i not in now_edges]
    delta.upsert_nodes = [
        now_nodes.get(node["id"], node)
        for node in delta.upsert_nodes
        if node["id"] not in both_nodes - now_nodes.keys()
    ]
    delta.upsert_edges = [
        now_edges.get(edge["id"], edge)
        for edge in delta.upsert_edges
        if edge["id"] not in both_edges - now_edges.keys()
    ]


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _is_stale(daemon: Daemon) -> bool:
    """Whether what a daemon holds is drawn stale: it, or the DinD container it runs in, is."""
    if daemon.status != Status.UP:
        return True
    return bool(daemon.container_id and daemon.container.stale)


def _access(route: Route) -> str:
    return {"unix": "socket", "tcp": "tcp", "ssh": "ssh", "exec": "exec"}.get(route.scheme, "tcp")


class _Known(NamedTuple):
    pk: int
    privileged: bool
    role: str
    fingerprint: str
    sets_docker_host: bool = False
    client_target_id: int | None = None


def _holders(daemon: Daemon) -> set[str]:
    """The containers this daemon runs inside, at any depth: it cannot hold them itself."""
    holders: set[str] = set()
    container_pk = daemon.container_id
    while container_pk is not None:
        row = (
            Container.objects.filter(pk=container_pk)
            .values_list("container_id", "daemon__container")
            .first()
        )
        if row is None or row[0] in holders:
            break
        holders.add(row[0])
        container_pk = row[1]
    return holders


def _take_over(
    daemon: Daemon, container_ids: list[str], rows: RowChanges, changes: ChangeSet
) -> dict[str, _Known]:
    """Containers this daemon lists that another daemon holds: they are this daemon's now (one
    container is one node). Returned as known rows whose fingerprint forces a write; what they
    were part of on their old daemon (networks, shared paths) goes from there."""
    if not container_ids:
        return {}
    moving = list(
        Container.objects.filter(container_id__in=container_ids)
        .exclude(daemon=daemon)
        .select_related("daemon")
    )
    by_daemon: dict[int, list[Container]] = {}
    for row in moving:
        by_daemon.setdefault(row.daemon_id, []).append(copy.copy(row))
    # Host paths: a container from this host was there before (its old version); one from
    # elsewhere arrives here new, and what it leaves on its old host is computed here.
    other_hosts = [
        row
        for row in moving
        if row.daemon.container_id is not None
        or daemon.container_id is not None
        or row.daemon.host_id != daemon.host_id
    ]
    rows.new_containers |= {row.pk for row in other_hosts}
    rows.old_containers |= {row.pk: copy.copy(row) for row in moving if row not in other_hosts}
    connectivity_services.host_paths_without(other_hosts, changes.delta)
    Container.objects.filter(pk__in=[row.pk for row in moving]).update(daemon=daemon)
    for rows_before in by_daemon.values():
        old_daemon = Daemon.objects.select_related("container").get(pk=rows_before[0].daemon_id)
        stale = _is_stale(old_daemon)
        connectivity_services.add_derived_delta(
            old_daemon,
            RowChanges(gone_containers=rows_before, was_stale=stale, is_stale=stale),
            changes.delta,
            host_wide=False,
        )
    return {
        row.container_id: _Known(
            row.pk, row.privileged, row.role, "", row.sets_docker_host, row.client_target_id
        )
        for row in moving
    }


def _client_candidates(
    snapshot: DaemonSnapshot, existing: dict[str, _Known], nested_by_container: dict[int, str]
) -> list[Candidate]:
    """The daemons a container of this snapshot could be a client of: those in DinD containers
    of this daemon (by their names, aliases, addresses, published ports) and those the project
    reaches over TCP (by that endpoint)."""
    candidates = []
    for info in snapshot.containers:
        known = existing.get(info.id)
        engine_id = nested_by_container.get(known.pk) if known else None
        if engine_id is None:
            continue
        names: dict[str, frozenset[str]] = {}
        addresses: set[str] = set()
        for attachment in info.attachments:
            names[attachment.network_name] = frozenset(
                n.lower() for n in (info.name, info.id[:12], *(attachment.aliases or ()))
            )
            addresses |= {a for a in (attachment.ipv4, attachment.ipv6) if a}
        published = {p.public_port: p.private_port for p in info.ports if p.public_port}
        candidates.append(Candidate(engine_id, names, frozenset(addresses), published))
    for engine_id, endpoint in Daemon.objects.filter(endpoint__startswith="tcp://").values_list(
        "engine_id", "endpoint"
    ):
        candidates.append(Candidate(engine_id, endpoint=endpoint))
    return candidates


def _client_fields(
    info: ContainerInfo, old: _Known | None, candidates: list[Candidate], own: str | None
) -> dict[str, Any]:
    """Whether the container sets DOCKER_HOST, and the daemon that leads to (by pk). Only an
    inspect says (a listing has no configuration): otherwise what was known stays."""
    if info.privileged is None:
        return {
            "sets_docker_host": bool(old and old.sets_docker_host),
            "client_target_id": old.client_target_id if old else None,
        }
    address = info.client_address
    if address is None:
        return {"sets_docker_host": False, "client_target_id": None}
    client = Client(
        networks=frozenset(a.network_name for a in info.attachments) or frozenset(info.networks),
        network_mode=info.network_mode,
    )
    engine_id = resolve(address, client, [c for c in candidates if c.engine_id != own])
    target = Daemon.objects.filter(engine_id=engine_id).values_list("pk", flat=True).first()
    return {"sets_docker_host": True, "client_target_id": target}


def _reconcile_containers(
    daemon: Daemon,
    snapshot: DaemonSnapshot,
    path_map: PathMap,
    changes: ChangeSet,
    rows: RowChanges,
) -> None:
    existing = {
        hex_id: _Known(*known)
        for hex_id, *known in Container.objects.filter(daemon=daemon).values_list(
            "container_id",
            "pk",
            "privileged",
            "role",
            "fingerprint",
            "sets_docker_host",
            "client_target",
        )
    }
    holders = _holders(daemon)
    listed = [c for c in snapshot.containers if c.id not in holders]
    moved = _take_over(daemon, [c.id for c in listed if c.id not in existing], rows, changes)
    existing |= moved
    nested_by_container = dict(
        Daemon.objects.filter(container__daemon=daemon).values_list("container_id", "engine_id")
    )
    candidates = _client_candidates(snapshot, existing, nested_by_container)
    sockets = socket_paths(daemon.engine_id, snapshot.route, path_map, _local_daemon_routes())
    engine_pks = dict(
        Daemon.objects.filter(engine_id__in=set(sockets.values())).values_list("engine_id", "pk")
    )
    creators = _vouched_creators(snapshot)
    now = timezone.now()
    health_before = _health_before(daemon, snapshot)
    seen: set[str] = set()
    new_rows: list[Container] = []
    updates: dict[int, dict[str, Any]] = {}
    created_later: list[tuple[str, str, str]] = []  # (child, old creator, new creator)
    for info in listed:
        seen.add(info.id)
        old = existing.get(info.id)
        nested_engine = nested_by_container.get(old.pk) if old else None
        fields = _container_fields(info, old, sockets, nested_engine)
        target_engine = fields.pop("socket_target_engine")
        fields["socket_target_id"] = engine_pks.get(target_engine) if target_engine else None
        fields |= _client_fields(info, old, candidates, nested_engine)
        fields["created_by"] = creators.get(info.id, "")
        fields["fingerprint"] = fingerprint(fields)
        log = _new_health_log(info, health_before.get(info.id), now)
        if log is not None:
            fields["health_log"] = log
        if old is None:
            new_rows.append(Container(daemon=daemon, container_id=info.id, last_seen=now, **fields))
        elif old.fingerprint != fields["fingerprint"] or log is not None:
            updates[old.pk] = fields
    for row in Container.objects.filter(pk__in=updates):
        fields = updates[row.pk]
        different = [name for name, value in fields.items() if getattr(row, name) != value]
        old_target = row.socket_target_id
        old_client = row.client_target_id
        old_creator = row.created_by
        old_log = row.health_log
        if (
            different != ["fingerprint"]
            and row.pk not in rows.old_containers.keys() | rows.new_containers
        ):
            rows.old_containers[row.pk] = copy.copy(row)
        for name in different:
            setattr(row, name, fields[name])
        row.last_seen = now
        row.save(update_fields=[*different, "last_seen"])
        quiet = different == ["fingerprint"] or (
            set(different) <= {"fingerprint", "health_log"} and same_probes(old_log, row.health_log)
        )
        if quiet and row.container_id not in moved:
            continue
        changes.changed += 1
        changes.delta.upsert_nodes.append(graph.container_node(row, daemon.engine_id))
        if "stale" in different:
            _nested_status_follows(row, changes)
        if old_target != row.socket_target_id:
            _edge_changes(row, old_target, changes)
        if old_client != row.client_target_id:
            _client_edge_changes(row, old_client, changes)
        if old_creator != row.created_by:
            created_later.append((row.container_id, old_creator, row.created_by))
    if new_rows:
        insert_rows(Container, new_rows, "container_id")
        rows.new_containers |= {row.pk for row in new_rows}
        changes.added += len(new_rows)
        for row in new_rows:
            changes.delta.upsert_nodes.append(graph.container_node(row, daemon.engine_id))
            if row.socket_target_id:
                _edge_changes(row, None, changes)
            if row.client_target_id:
                _client_edge_changes(row, None, changes)
            if row.created_by:
                created_later.append((row.container_id, "", row.created_by))
    gone_pks = [known.pk for hex_id, known in existing.items() if hex_id not in seen]
    if gone_pks:
        gone = list(
            Container.objects.filter(pk__in=gone_pks).select_related(
                "socket_target", "client_target"
            )
        )
        rows.gone_containers = gone
        nodes, edges = _subtree(gone_pks)
        changes.delta.remove_nodes += nodes + [graph.container_id(r.container_id) for r in gone]
        changes.delta.remove_edges += edges + _edges_from(gone)
        changes.delta.remove_edges += [
            graph.created_edge_id(r.created_by, r.container_id) for r in gone if r.created_by
        ]
        Container.objects.filter(pk__in=gone_pks).delete()
        changes.removed += len(gone)
    _created_edge_changes(created_later, seen, changes)


def _nested_status_follows(row: Container, changes: ChangeSet) -> None:
    """A DinD container is stale no longer: its nested daemon is drawn by its own status."""
    nested = Daemon.objects.filter(container=row).first()
    if nested is not None:
        nested.container = row
        changes.delta.upsert_nodes.append(
            graph.daemon_node(nested, graph.container_id(row.container_id), row.stale)
        )


def _vouched_creators(snapshot: DaemonSnapshot) -> dict[str, str]:
    """Child id to creator id, for the claims on this daemon whose demo exists."""
    claims = creation_claims(snapshot.containers)
    if not claims:
        return {}
    known = provenance.known_demos(claim.demo_id for claim in claims.values())
    return {child: c.creator for child, c in claims.items() if c.demo_id in known}


def _created_edge_changes(
    moves: list[tuple[str, str, str]], present: set[str], changes: ChangeSet
) -> None:
    """Created edges that went or came; a creator is always on the same daemon (``present``)."""
    removed = set(changes.delta.remove_edges)
    for child, old_creator, new_creator in moves:
        if old_creator:
            edge_id = graph.created_edge_id(old_creator, child)
            if edge_id not in removed:
                changes.delta.remove_edges.append(edge_id)
                removed.add(edge_id)
        if new_creator and new_creator in present:
            changes.delta.upsert_edges.append(graph.created_edge(new_creator, child))


def _client_edge_changes(row: Container, old_pk: int | None, changes: ChangeSet) -> None:
    engines = dict(
        Daemon.objects.filter(pk__in=[p for p in (old_pk, row.client_target_id) if p]).values_list(
            "pk", "engine_id"
        )
    )
    if old_pk and old_pk in engines:
        changes.delta.remove_edges.append(graph.client_edge_id(row.container_id, engines[old_pk]))
    if row.client_target_id and row.client_target_id in engines:
        changes.delta.upsert_edges.append(
            graph.client_edge(row.container_id, engines[row.client_target_id])
        )


def _edge_changes(row: Container, old_target_pk: int | None, changes: ChangeSet) -> None:
    engines = dict(
        Daemon.objects.filter(
            pk__in=[p for p in (old_target_pk, row.socket_target_id) if p]
        ).values_list("pk", "engine_id")
    )
    if old_target_pk and old_target_pk in engines:
        changes.delta.remove_edges.append(
            graph.socket_edge_id(row.container_id, engines[old_target_pk])
        )
    if row.socket_target_id and row.socket_target_id in engines:
        changes.delta.upsert_edges.append(
            graph.socket_edge(row.container_id, engines[row.socket_target_id])
        )


def daemon_for_route(route: Route, place: Place) -> Daemon | None:
    """The daemon last reached by this route (or, for a nested one, living in that container)."""
    if place.nested:
        return Daemon.objects.filter(
            container__container_id=place.container_hex,
            container__daemon__engine_id=place.parent_engine_id,
        ).first()
    return (
        Daemon.objects.filter(endpoint=route.url, container__isnull=True)
        .order_by("-status", "-last_seen")
        .first()
    )


@transaction.atomic
def mark_unreachable(route: Route, place: Place, error: str, *, publish: bool = True) -> ChangeSet:
    """A daemon stopped answering: say so once, and mark what was under it stale."""
    changes = ChangeSet()
    daemon = daemon_for_route(route, place)
    if daemon is None:
        return changes
    daemon = Daemon.objects.select_related("host", "container").get(pk=daemon.pk)
    _mark_down(daemon, error, changes)
    if changes:
        changes.since, changes.version = bump_version()
    return _publish_on_commit(changes, publish)


def _mark_down(daemon: Daemon, error: str, changes: ChangeSet) -> None:
    error = error[:2000]
    if daemon.status == Status.UP or daemon.last_error != error:
        if daemon.status == Status.UP:
            daemon.unreachable_since = timezone.now()
        daemon.status = Status.UNREACHABLE
        daemon.last_error = error
        daemon.save(update_fields=["status", "last_error", "unreachable_since"])
        changes.changed += 1
        changes.delta.upsert_nodes.append(graph.daemon_node(daemon, _daemon_parent_id(daemon)))
        changes.delta.upsert_nodes += connectivity_services.stale_nodes(daemon, True)
        changes.delta.upsert_nodes += image_services.stale_nodes(daemon, True)
    _mark_stale_under(daemon, changes)


def _mark_stale_under(daemon: Daemon, changes: ChangeSet) -> None:
    rows = list(Container.objects.filter(daemon=daemon, stale=False))
    if not rows:
        return
    Container.objects.filter(pk__in=[r.pk for r in rows]).update(stale=True)
    for row in rows:
        row.stale = True
        changes.changed += 1
        changes.delta.upsert_nodes.append(graph.container_node(row, daemon.engine_id))
    for nested in Daemon.objects.filter(container__in=rows).select_related("container"):
        changes.delta.upsert_nodes.append(
            graph.daemon_node(nested, graph.container_id(nested.container.container_id), True)
        )
        changes.delta.upsert_nodes += connectivity_services.stale_nodes(nested, True)
        changes.delta.upsert_nodes += image_services.stale_nodes(nested, True)
        _mark_stale_under(nested, changes)


@transaction.atomic
def prune_stale(
    now: datetime | None = None, grace: timedelta | None = None, *, publish: bool = True
) -> ChangeSet:
    """Remove what was under daemons unreachable for longer than the grace period."""
    now = now or timezone.now()
    grace = grace if grace is not None else timedelta(seconds=settings.TOPOLOGY_STALE_GRACE_SECONDS)
    changes = ChangeSet()
    expired = Daemon.objects.exclude(status=Status.UP).filter(unreachable_since__lte=now - grace)
    rows = list(
        Container.objects.filter(daemon__in=expired).select_related(
            "daemon", "socket_target", "client_target"
        )
    )
    going = _daemons_under(r.pk for r in rows)
    replaced = _replaced_daemons(expired)
    clients = _clients_of(going | {d.pk for d in replaced})
    if rows:
        nodes, edges = _subtree(r.pk for r in rows)
        changes.delta.remove_nodes += nodes + [graph.container_id(r.container_id) for r in rows]
        changes.delta.remove_edges += edges + _edges_from(rows)
        changes.delta.remove_edges += [
            graph.created_edge_id(r.created_by, r.container_id) for r in rows if r.created_by
        ]
        connectivity_services.pruning_delta(rows, changes.delta)
        changes.delta.remove_nodes += connectivity_services.prune_under(list(expired), rows)
        Container.objects.filter(pk__in=[r.pk for r in rows]).delete()
        changes.removed += len(rows)
    images_gone = image_services.prune_under(list(expired.filter(images__isnull=False).distinct()))
    if images_gone:
        changes.delta.remove_nodes += images_gone
        changes.removed += 1
    image_services.settle_registries(changes.delta)
    if replaced:
        changes.delta.remove_nodes += [graph.daemon_id(d.engine_id) for d in replaced]
        changes.delta.remove_nodes += connectivity_services.node_ids_under(replaced)
        changes.delta.remove_edges += _edges_into(replaced)
        Daemon.objects.filter(pk__in=[d.pk for d in replaced]).delete()
        changes.removed += len(replaced)
    _redraw(clients, changes)
    if changes:
        settle(changes.delta)
        changes.since, changes.version = bump_version()
    return _publish_on_commit(changes, publish)


def _replaced_daemons(expired: Any) -> list[Daemon]:
    """Expired root daemons whose endpoint another engine answers now: they are gone."""
    answering = set(
        Daemon.objects.filter(status=Status.UP, container__isnull=True).values_list(
            "endpoint", flat=True
        )
    )
    return [d for d in expired.filter(container__isnull=True) if d.endpoint in answering]


LOCAL_SOCKETS_ARE_FOR_SITE_ADMINS = (
    "A local socket (unix://) reaches this machine's own engines: only a site admin may "
    "register one. Team admins register tcp:// engines with TLS client certificates, or ssh://."
)


def registration_forbidden(user: Any, fields: dict[str, Any]) -> str | None:
    """Why ``user`` (a team admin of the registration's team; the caller checks that) may not
    register this engine, or None: local sockets and plain tcp:// are a site admin's choice."""
    if user.is_superuser:
        return None
    if Endpoint(url=fields.get("url", "")).scheme not in Endpoint.TEAM_ADMIN_SCHEMES:
        return LOCAL_SOCKETS_ARE_FOR_SITE_ADMINS
    if fields.get("insecure"):
        return "Only a site admin may allow a plain (insecure) tcp:// engine."
    return None


class RegistrationRefused(Exception):
    """The engine did not answer as it should, or is already known; the message says why, for
    people."""


def _answering_engine(route: Route, tls_dir: Any) -> str:
    """The engine ID of what answers at ``route`` (the connection test of a registration)."""
    try:
        reader = open_reader(route, connect_timeout=3, read_timeout=5, tls_dir=tls_dir)
        try:
            return reader.info().engine_id
        finally:
            reader.close()
    except EngineUnreachable as error:
        raise RegistrationRefused(f"The engine did not answer: {error}") from error
    except EngineError as error:
        raise RegistrationRefused(f"The connection test failed: {error}") from error


def _local_engine_id() -> str | None:
    """The engine ID of ``DOCKER_HOST``: as last polled, else asked now (None: no answer)."""
    known = (
        Daemon.objects.filter(
            endpoint=settings.DOCKER_HOST, container__isnull=True, registered_endpoint__isnull=True
        )
        .values_list("engine_id", flat=True)
        .first()
    )
    if known:
        return known
    try:
        reader = open_reader(
            Route(url=settings.DOCKER_HOST, insecure=settings.DOCKER_HOST_INSECURE),
            connect_timeout=2,
            read_timeout=5,
        )
        try:
            return reader.info().engine_id
        finally:
            reader.close()
    except EngineError:
        return None


def _whose(team: Any) -> str:
    return f"team {team.name}" if team is not None else "shared by every team"


def _root_host(daemon: Daemon) -> Host | None:
    while daemon.container_id is not None:
        daemon = Daemon.objects.select_related("host__team", "container__daemon").get(
            pk=daemon.container.daemon_id
        )
    return daemon.host


def engine_owner(engine_id: str) -> str | None:
    """Who already has the engine ``engine_id``, as a sentence; None when no one does."""
    endpoint = Endpoint.objects.select_related("team").filter(engine_id=engine_id).first()
    if endpoint is not None:
        return (
            f"This engine is already registered, as “{endpoint.name}” of {_whose(endpoint.team)}; "
            "an engine is registered once."
        )
    daemon = (
        Daemon.objects.select_related("host__team", "registered_endpoint__team", "container")
        .filter(engine_id=engine_id)
        .first()
    )
    if daemon is None:
        if engine_id == _local_engine_id():
            return "This engine is the local engine (DOCKER_HOST), already on the map."
        return None
    host = _root_host(daemon)
    where = f"host {host.name}, {_whose(host.team)}" if host else "an unknown host"
    if daemon.container_id is not None:
        return (
            f"This engine is already on the map: it is the daemon nested in a container on {where}."
        )
    if daemon.registered_endpoint is not None:
        registration = daemon.registered_endpoint
        return (
            f"This engine is already registered, as “{registration.name}” of "
            f"{_whose(registration.team)}; an engine is registered once."
        )
    return f"This engine is the local engine (DOCKER_HOST) of {where}, already on the map."


def register_endpoint(fields: dict[str, Any], tls_dir: Any) -> Endpoint:
    """Test the connection to a root engine, then save it (never the other way round).

    An engine already known (by its engine ID: the local engine under another path, a nested
    daemon's socket, another registration) is refused with a sentence naming who has it.
    """
    endpoint = Endpoint(**fields)
    engine_id = _answering_engine(endpoint.route, tls_dir)
    owner = engine_owner(engine_id)
    if owner is not None:
        raise RegistrationRefused(owner)
    try:
        with transaction.atomic():
            return Endpoint.objects.create(**fields, engine_id=engine_id)
    except IntegrityError as error:  # the same engine, registered at the same moment
        raise RegistrationRefused(engine_owner(engine_id) or str(error)) from error


@transaction.atomic
def forget_registration(endpoint: Endpoint, *, publish: bool = True) -> ChangeSet:
    """An endpoint is going: remove what only it reached (its root daemons, everything under
    them, and its host when nothing else runs there), and say so to every client."""
    changes = ChangeSet()
    daemons = list(
        Daemon.objects.filter(registered_endpoint=endpoint, container__isnull=True).select_related(
            "host"
        )
    )
    hosts = {d.host_id for d in daemons if d.host_id} | (
        {endpoint.host_id} if endpoint.host_id else set()
    )
    for daemon in daemons:
        rows = list(Container.objects.filter(daemon=daemon).select_related("socket_target"))
        nodes, edges = _subtree(r.pk for r in rows)
        changes.delta.remove_nodes += [
            *nodes,
            *(graph.container_id(r.container_id) for r in rows),
            graph.daemon_id(daemon.engine_id),
        ]
        changes.delta.remove_edges += [
            *edges,
            *(
                graph.socket_edge_id(r.container_id, r.socket_target.engine_id)
                for r in rows
                if r.socket_target
            ),
            *(graph.created_edge_id(r.created_by, r.container_id) for r in rows if r.created_by),
            *(
                graph.socket_edge_id(hex_id, daemon.engine_id)
                for hex_id in Container.objects.filter(socket_target=daemon).values_list(
                    "container_id", flat=True
                )
            ),
        ]
        changes.removed += 1 + len(rows)
        daemon.delete()
    for host in Host.objects.filter(pk__in=hosts, engine_id="", daemons__isnull=True):
        if not Endpoint.objects.filter(host=host).exclude(pk=endpoint.pk).exists():
            changes.delta.remove_nodes.append(graph.host_id(host))
            host.delete()
    if changes:
        changes.since, changes.version = bump_version()
    return _publish_on_commit(changes, publish)


BEHIND_STEPS = (0, 5, 15, 60, 300)  # under 5 s late is on time: load jitter writes nothing


def behind_step(seconds: float) -> int:
    """``seconds`` behind schedule, rounded down to a step (so that jitter writes nothing)."""
    return max(step for step in BEHIND_STEPS if seconds >= step or step == 0)


def set_watch(engine_id: str, watch: str, behind: float = 0, *, publish: bool = True) -> ChangeSet:
    """Say how a daemon is followed (``events`` or ``polling``) and how far behind schedule its
    reads run (``behind_step``); written only when either differs, so a steady daemon costs no
    write."""
    return set_watches({engine_id: (watch, behind)}, publish=publish)


@transaction.atomic
def set_watches(said: dict[str, tuple[str, float]], *, publish: bool = True) -> ChangeSet:
    """``set_watch`` for many daemons (engine ID: watch, seconds behind) in one transaction and
    one delta: a watcher that starts following a hundred daemons writes once, not a hundred
    times."""
    changes = ChangeSet()
    wanted = {engine: (watch, behind_step(behind)) for engine, (watch, behind) in said.items()}
    daemons = Daemon.objects.select_related("host", "container").filter(engine_id__in=wanted)
    now = timezone.now()
    for daemon in daemons:
        watch, step = wanted[daemon.engine_id]
        if (daemon.watch, daemon.behind) == (watch, step):
            continue
        fields = ["behind"]
        if daemon.watch != watch:
            daemon.watch = watch
            daemon.watch_since = now
            fields += ["watch", "watch_since"]
        daemon.behind = step
        daemon.save(update_fields=fields)
        changes.changed += 1
        changes.delta.upsert_nodes.append(graph.daemon_node(daemon, _daemon_parent_id(daemon)))
    if not changes.changed:
        return changes
    changes.since, changes.version = bump_version()
    return _publish_on_commit(changes, publish)


# --- Terminal sessions (the audit log of interactive shells) -----------------------------------


def open_terminal_session(
    user: Any, container: Container, team_slug: str, allowed_by: str
) -> TerminalSession:
    """Record that ``user`` opens a shell in ``container`` (before anything is started)."""
    return TerminalSession.objects.create(
        user=user,
        username=user.get_username(),
        container_id=container.container_id,
        container_name=container.name,
        engine_id=container.daemon.engine_id,
        team=team_slug,
        allowed_by=allowed_by,
    )


def record_terminal_session(
    pk: int, bytes_in: int, bytes_out: int, end_reason: str | None = None
) -> None:
    """Bytes so far; with ``end_reason``, the session is over."""
    fields: dict[str, Any] = {"bytes_in": bytes_in, "bytes_out": bytes_out}
    if end_reason is not None:
        fields |= {"ended": timezone.now(), "end_reason": end_reason[:200]}
    TerminalSession.objects.filter(pk=pk, ended__isnull=True).update(**fields)
