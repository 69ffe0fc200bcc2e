"""Networks and volumes into the database, and what any change does to the v2 parts of the graph.

Called only from ``services`` actions, inside their transaction. Like containers, a network or a
volume is written only when its digest differs. The v2 parts (network, volume and host-path
nodes; network, netns, mount and publishes edges) are derived from rows, so their delta is the
difference between the parts built from the rows before a change and after it: rows are read
again only when something changed, so a quiet poll reads and writes nothing more.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from topology.engine.types import NetworkInfo, VolumeInfo
from topology.inventory import connectivity, graph
from topology.inventory.digests import fingerprint
from topology.inventory.inserts import insert_rows
from topology.inventory.models import Container, Daemon, Host, Network, Volume

Node = dict[str, Any]
Edge = dict[str, Any]


@dataclass
class RowChanges:
    """What one action did to a daemon's rows: the old state of rows it changed, the rows it
    added and those it deleted (as they were). Empty: nothing derived can have changed."""

    old_containers: dict[int, Container] = field(default_factory=dict)
    new_containers: set[int] = field(default_factory=set)
    gone_containers: list[Container] = field(default_factory=list)
    old_networks: dict[int, Network] = field(default_factory=dict)
    new_networks: set[int] = field(default_factory=set)
    gone_networks: list[Network] = field(default_factory=list)
    old_volumes: dict[int, Volume] = field(default_factory=dict)
    new_volumes: set[int] = field(default_factory=set)
    gone_volumes: list[Volume] = field(default_factory=list)
    was_stale: bool = False
    is_stale: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.old_containers
            or self.new_containers
            or self.gone_containers
            or self.old_networks
            or self.new_networks
            or self.gone_networks
            or self.old_volumes
            or self.new_volumes
            or self.gone_volumes
            or self.was_stale != self.is_stale
        )

    def containers_touched(self) -> list[Container]:
        """Every version of every container changed: old, new (by pk, from ``after``) and gone."""
        return [*self.old_containers.values(), *self.gone_containers]


def _network_fields(info: NetworkInfo) -> dict[str, Any]:
    fields = asdict(info)
    fields.pop("complete")
    fields["network_id"] = fields.pop("id")
    fields["subnets"] = list(info.subnets)
    fields["gateways"] = list(info.gateways)
    return fields


def known_networks(engine_id: str) -> dict[str, tuple[str, str, str]]:
    """Network id to (name, driver, scope) of what is stored for a daemon: a CLI listing line
    that says the same needs no inspect."""
    rows = Network.objects.filter(daemon__engine_id=engine_id).values_list(
        "network_id", "name", "driver", "scope"
    )
    return {hex_id: (name, driver, scope) for hex_id, name, driver, scope in rows}


def _reconcile_rows(
    model: type[Network] | type[Volume],
    daemon: Daemon,
    key: str,
    wanted: dict[str, dict[str, Any]],
    unchanged: set[str],
) -> tuple[dict[int, Any], set[int], list[Any]]:
    """Write ``wanted`` (key to fields) for one daemon, only what differs; keys in ``unchanged``
    are kept as stored. Returns (old versions of changed rows, new pks, deleted rows)."""
    existing = {
        name: (pk, digest)
        for name, pk, digest in model.objects.filter(daemon=daemon).values_list(
            key, "pk", "fingerprint"
        )
    }
    old: dict[int, Any] = {}
    created = []
    updates: dict[int, dict[str, Any]] = {}
    for name, fields in wanted.items():
        fields["fingerprint"] = fingerprint(fields)
        known = existing.get(name)
        if known is None:
            created.append(model(daemon=daemon, **fields))
        elif known[1] != fields["fingerprint"]:
            updates[known[0]] = fields
    for row in model.objects.filter(pk__in=updates):
        old[row.pk] = copy.copy(row)
        for name, value in updates[row.pk].items():
            setattr(row, name, value)
        row.save()
    insert_rows(model, created, key)
    new = {row.pk for row in created}
    gone_keys = set(existing) - set(wanted) - unchanged
    gone = (
        list(model.objects.filter(daemon=daemon, **{f"{key}__in": gone_keys})) if gone_keys else []
    )
    if gone:
        model.objects.filter(pk__in=[row.pk for row in gone]).delete()
    return old, new, gone


def reconcile_networks(daemon: Daemon, listed: Iterable[NetworkInfo], changes: RowChanges) -> None:
    """Make the stored networks of ``daemon`` what ``listed`` says. An incomplete line (a CLI
    listing whose inspect did not come) keeps what is stored, or waits for the next poll."""
    wanted = {}
    unchanged = set()
    for info in listed:
        if info.complete:
            wanted[info.id] = _network_fields(info)
        else:
            unchanged.add(info.id)
    old, new, gone = _reconcile_rows(Network, daemon, "network_id", wanted, unchanged)
    changes.old_networks, changes.new_networks, changes.gone_networks = old, new, gone


def reconcile_volumes(daemon: Daemon, listed: Iterable[VolumeInfo], changes: RowChanges) -> None:
    wanted = {info.name: asdict(info) for info in listed}
    old, new, gone = _reconcile_rows(Volume, daemon, "name", wanted, set())
    changes.old_volumes, changes.new_volumes, changes.gone_volumes = old, new, gone


def _before(after: list[Any], old: dict[int, Any], new: set[int], gone: list[Any]) -> list[Any]:
    return [old.get(row.pk, row) for row in after if row.pk not in new] + list(gone)


def _difference(
    before: tuple[list[Node], list[Edge]], after: tuple[list[Node], list[Edge]], delta: Any
) -> None:
    old_nodes = {node["id"]: node for node in before[0]}
    old_edges = {edge["id"]: edge for edge in before[1]}
    new_nodes = {node["id"]: node for node in after[0]}
    new_edges = {edge["id"]: edge for edge in after[1]}
    delta.upsert_nodes += [n for i, n in new_nodes.items() if old_nodes.get(i) != n]
    delta.upsert_edges += [e for i, e in new_edges.items() if old_edges.get(i) != e]
    delta.remove_edges += [i for i in old_edges if i not in new_edges]
    delta.remove_nodes += [i for i in old_nodes if i not in new_nodes]


def _has(containers: Iterable[Container], test: Any) -> bool:
    return any(test(container) for container in containers)


def _binds(container: Container) -> bool:
    return any(m.get("type") == "bind" for m in container.mounts or ())


def add_derived_delta(
    daemon: Daemon, changes: RowChanges, delta: Any, *, host_wide: bool = True
) -> None:
    """Add to ``delta`` what ``changes`` did to the v2 parts of the graph around ``daemon``.
    ``host_wide`` False leaves out the parts that span daemons (host paths, port paths): for
    containers that moved to another daemon, whose action computes those once."""
    if not changes:
        return
    after_containers = list(Container.objects.filter(daemon=daemon))
    before_containers = _before(
        after_containers,
        changes.old_containers,
        changes.new_containers,
        changes.gone_containers,
    )
    networks = (
        list(Network.objects.filter(daemon=daemon)) if settings.TOPOLOGY_DISCOVER_NETWORKS else []
    )
    volumes = list(Volume.objects.filter(daemon=daemon))
    engine_id = daemon.engine_id
    before_networks = _before(
        networks, changes.old_networks, changes.new_networks, changes.gone_networks
    )
    before_volumes = _before(
        volumes, changes.old_volumes, changes.new_volumes, changes.gone_volumes
    )
    _difference(
        connectivity.daemon_parts(
            engine_id, before_containers, before_networks, before_volumes, changes.was_stale
        ),
        connectivity.daemon_parts(engine_id, after_containers, networks, volumes, changes.is_stale),
        delta,
    )
    changed_pks = changes.new_containers | set(changes.old_containers)
    touched = changes.containers_touched() + [c for c in after_containers if c.pk in changed_pks]
    if not host_wide:
        return
    if daemon.container_id is None and daemon.host_id is not None and _has(touched, _binds):
        _host_paths_delta(daemon, after_containers, before_containers, delta)
    if _has(touched, lambda c: bool(c.ports)):
        _port_paths_delta(daemon, after_containers, before_containers, delta)


def _host_paths_delta(
    daemon: Daemon, after: list[Container], before: list[Container], delta: Any
) -> None:
    host = Host.objects.get(pk=daemon.host_id)
    others = list(
        Container.objects.filter(daemon__host=host, daemon__container__isnull=True).exclude(
            daemon=daemon
        )
    )
    _difference(
        connectivity.path_parts(others + before, host.slug),
        connectivity.path_parts(others + after, host.slug),
        delta,
    )


def _port_paths_delta(
    daemon: Daemon, after: list[Container], before: list[Container], delta: Any
) -> None:
    daemons = list(Daemon.objects.all())
    hosts = list(Host.objects.all())
    dind_hex = dict(
        Container.objects.filter(
            pk__in=[d.container_id for d in daemons if d.container_id]
        ).values_list("pk", "container_id")
    )
    places = graph.daemon_places(daemons, hosts, dind_hex)
    elsewhere = [c for c in Container.objects.exclude(daemon=daemon).exclude(ports=[]) if c.ports]
    _difference(
        (
            [],
            connectivity.publishes_edges(
                connectivity.PortPaths(elsewhere + [c for c in before if c.ports], places)
            ),
        ),
        (
            [],
            connectivity.publishes_edges(
                connectivity.PortPaths(elsewhere + [c for c in after if c.ports], places)
            ),
        ),
        delta,
    )


def stale_nodes(daemon: Daemon, stale: bool) -> list[Node]:
    """The network and shared-volume nodes of ``daemon``, marked stale or not."""
    containers = list(Container.objects.filter(daemon=daemon))
    networks = (
        list(Network.objects.filter(daemon=daemon)) if settings.TOPOLOGY_DISCOVER_NETWORKS else []
    )
    nodes, _edges = connectivity.daemon_parts(
        daemon.engine_id, containers, networks, Volume.objects.filter(daemon=daemon), stale
    )
    return nodes


def node_ids_under(daemons: Iterable[Daemon]) -> list[str]:
    """The network and volume node ids of these daemons (going with them)."""
    daemons = list(daemons)
    engines = {d.pk: d.engine_id for d in daemons}
    networks = Network.objects.filter(daemon__in=daemons).values_list("daemon_id", "network_id")
    volumes = Volume.objects.filter(daemon__in=daemons).values_list("daemon_id", "name")
    return [connectivity.network_id(engines[pk], hex_id) for pk, hex_id in networks] + [
        connectivity.volume_id(engines[pk], name) for pk, name in volumes
    ]


def prune_under(daemons: list[Daemon], containers: list[Container]) -> list[str]:
    """Delete the networks and volumes of daemons unreachable past the grace period; return the
    node ids that go: theirs, and the host paths their containers shared."""
    gone = node_ids_under(daemons)
    path_ids = [
        node["id"]
        for host_slug, rows in _root_containers_by_host(containers).items()
        for node in connectivity.path_parts(rows, host_slug)[0]
    ]
    Network.objects.filter(daemon__in=daemons).delete()
    Volume.objects.filter(daemon__in=daemons).delete()
    return gone + path_ids


def pruning_delta(pruned: list[Container], delta: Any) -> None:
    """What removing ``pruned`` (still in the database) does to the parts that span daemons:
    host paths they shared with containers that stay, and port paths through them."""
    host_paths_without(pruned, delta)
    pruned_pks = {c.pk for c in pruned}
    if _has(pruned, lambda c: bool(c.ports)):
        daemons = list(Daemon.objects.all())
        hosts = list(Host.objects.all())
        dind_hex = dict(
            Container.objects.filter(
                pk__in=[d.container_id for d in daemons if d.container_id]
            ).values_list("pk", "container_id")
        )
        places = graph.daemon_places(daemons, hosts, dind_hex)
        published = [c for c in Container.objects.exclude(ports=[]) if c.ports]
        _difference(
            ([], connectivity.publishes_edges(connectivity.PortPaths(published, places))),
            (
                [],
                connectivity.publishes_edges(
                    connectivity.PortPaths([c for c in published if c.pk not in pruned_pks], places)
                ),
            ),
            delta,
        )


def host_paths_without(leaving: list[Container], delta: Any, *, arriving: bool = False) -> None:
    """What ``leaving`` (on their hosts in the database) leaving their hosts does to the host
    paths there: shared folders they were part of. ``arriving``: what their coming did."""
    leaving_pks = {c.pk for c in leaving}
    for host_slug in _root_containers_by_host(leaving):
        with_them = list(
            Container.objects.filter(daemon__host__slug=host_slug, daemon__container__isnull=True)
        )
        without = [c for c in with_them if c.pk not in leaving_pks]
        before, after = (without, with_them) if arriving else (with_them, without)
        _difference(
            connectivity.path_parts(before, host_slug),
            connectivity.path_parts(after, host_slug),
            delta,
        )


def _root_containers_by_host(containers: Iterable[Container]) -> dict[str, list[Container]]:
    daemon_pks = {c.daemon_id for c in containers}
    hosts = dict(
        Daemon.objects.filter(pk__in=daemon_pks, container__isnull=True).values_list(
            "pk", "host__slug"
        )
    )
    grouped: dict[str, list[Container]] = {}
    for container in containers:
        if container.daemon_id in hosts:
            grouped.setdefault(hosts[container.daemon_id], []).append(container)
    return grouped
