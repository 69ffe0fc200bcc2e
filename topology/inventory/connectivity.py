"""What connects to what (contract v2), built from rows already in memory: pure functions.

- ``network`` nodes inside their daemon, a ``network`` edge from each attached container
  (addresses and aliases), a ``netns`` edge from a container that shares another's network stack
  (``network_mode: container:<id>``);
- shared volumes: a named volume used by two or more containers of a daemon is a ``volume`` node
  inside that daemon, a host folder bind-mounted into two or more containers of a host's root
  daemons a ``volume`` node (``path:<host slug>:<path>``) under that host, each with a ``mount``
  edge from every container that uses it; a volume used once is only in its container's mounts;
- published-port paths: where a port on the host reaches a container inside a DinD (the DinD
  container publishes a port its nested daemon publishes again), a ``publishes`` edge for each
  hop, nested container to DinD container to host;
- ``exposure`` of a container: ``public`` (a port bound on all interfaces), ``socket`` (an engine
  socket mounted).

Edge ids are ``<kind>:<source container hex>-><target node id>``.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from topology.engine.networks import BUILT_IN_NETWORKS, shared_netns_target
from topology.inventory.graph_rows import ContainerLike, NetworkLike, VolumeLike

Node = dict[str, Any]
Edge = dict[str, Any]

LINK_KINDS = ("network", "netns", "mount", "publishes")
ALL_INTERFACES = ("", "0.0.0.0", "::")  # noqa: S104 (matching bindings, not binding)
SOCKET_FILES = ("docker.sock", "podman.sock")


def network_id(engine_id: str, network_hex: str) -> str:
    return f"network:{engine_id}/{network_hex}"


def volume_id(engine_id: str, name: str) -> str:
    return f"volume:{engine_id}/{name}"


def path_id(host_slug: str, path: str) -> str:
    return f"path:{host_slug}:{path}"


def link_id(kind: str, source_hex: str, target: str) -> str:
    return f"{kind}:{source_hex}->{target}"


def link_ends(edge_id: str) -> tuple[str, str] | None:
    """The node ids a ``link_id`` names, or None for an id of another kind."""
    kind, _, rest = edge_id.partition(":")
    source, arrow, target = rest.partition("->")
    if kind not in LINK_KINDS or not arrow:
        return None
    return f"container:{source}", target


def _daemon_node_id(engine_id: str) -> str:
    return f"daemon:{engine_id}"


def _container_node_id(container_hex: str) -> str:
    return f"container:{container_hex}"


def exposure(container: ContainerLike) -> list[str]:
    """``public`` for a port published on all interfaces, ``socket`` for a mounted engine
    socket (a known daemon's, or a file named like one)."""
    found = []
    if any(
        port.get("public") and (port.get("ip") or "") in ALL_INTERFACES
        for port in container.ports or ()
    ):
        found.append("public")
    if container.socket_target_id or any(
        mount.get("type") == "bind"
        and posixpath.basename(mount.get("source") or "") in SOCKET_FILES
        for mount in container.mounts or ()
    ):
        found.append("socket")
    return found


def network_node(network: NetworkLike, engine_id: str, stale: bool = False) -> Node:
    return {
        "id": network_id(engine_id, network.network_id),
        "kind": "network",
        "parent": _daemon_node_id(engine_id),
        "label": network.name,
        "status": "stale" if stale else "up",
        "name": network.name,
        "driver": network.driver,
        "scope": network.scope,
        "internal": network.internal,
        "attachable": network.attachable,
        "ingress": network.ingress,
        "ipv6": network.ipv6,
        "subnets": list(network.subnets),
        "gateways": list(network.gateways),
        "labels": network.labels,
        "created": network.created.isoformat() if network.created else None,
        "builtin": network.name in BUILT_IN_NETWORKS,
    }


def network_edges(container: ContainerLike, engine_id: str, known: Mapping[str, str]) -> list[Edge]:
    """One edge per attachment to a known network (``known``: network id to name)."""
    edges = []
    for attachment in container.attachments or ():
        hex_id = attachment.get("network_id") or ""
        if hex_id not in known:
            continue
        target = network_id(engine_id, hex_id)
        edges.append(
            {
                "id": link_id("network", container.container_id, target),
                "kind": "network",
                "source": _container_node_id(container.container_id),
                "target": target,
                "network": known[hex_id],
                "ipv4": attachment.get("ipv4") or "",
                "ipv6": attachment.get("ipv6") or "",
                "aliases": list(attachment.get("aliases") or []),
            }
        )
    return edges


def netns_edges(containers: Iterable[ContainerLike]) -> list[Edge]:
    """``netns`` edges of one daemon's containers: each to the container whose network stack it
    shares (named by full id, an id prefix or a name, as the engine recorded it)."""
    rows = list(containers)
    by_id = {row.container_id: row.container_id for row in rows}
    by_name = {row.name: row.container_id for row in rows}
    edges = []
    for row in rows:
        wanted = shared_netns_target(row.network_mode or "")
        if not wanted:
            continue
        target = by_id.get(wanted) or by_name.get(wanted.lstrip("/"))
        if target is None and len(wanted) >= 12:
            target = next((hex_id for hex_id in by_id if hex_id.startswith(wanted)), None)
        if target is None or target == row.container_id:
            continue
        edges.append(
            {
                "id": link_id("netns", row.container_id, _container_node_id(target)),
                "kind": "netns",
                "source": _container_node_id(row.container_id),
                "target": _container_node_id(target),
            }
        )
    return edges


def _mount_edge(container: ContainerLike, target: str, mounts: list[dict[str, Any]]) -> Edge:
    first = mounts[0]
    return {
        "id": link_id("mount", container.container_id, target),
        "kind": "mount",
        "source": _container_node_id(container.container_id),
        "target": target,
        "destination": first.get("destination") or "",
        "read_only": first.get("rw") is False,
        "mounts": [
            {"destination": m.get("destination") or "", "read_only": m.get("rw") is False}
            for m in mounts
        ],
    }


def _users(
    containers: Iterable[ContainerLike], key: Any
) -> dict[str, list[tuple[ContainerLike, list[dict[str, Any]]]]]:
    """``key(mount)`` (or None) to the containers that mount it, each with those mounts."""
    users: dict[str, dict[str, tuple[ContainerLike, list[dict[str, Any]]]]] = defaultdict(dict)
    for container in containers:
        for mount in container.mounts or ():
            name = key(mount)
            if not name:
                continue
            entry = users[name].setdefault(container.container_id, (container, []))
            entry[1].append(mount)
    return {name: list(by_container.values()) for name, by_container in users.items()}


def volume_parts(
    containers: Iterable[ContainerLike],
    engine_id: str,
    volumes: Mapping[str, VolumeLike],
    stale: bool = False,
) -> tuple[list[Node], list[Edge]]:
    """Named volumes mounted by two or more of one daemon's containers, with their mounts."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    users = _users(containers, lambda m: m.get("name") if m.get("type") == "volume" else None)
    for name, mounted in sorted(users.items()):
        if len(mounted) < 2:
            continue
        row = volumes.get(name)
        node_id = volume_id(engine_id, name)
        nodes.append(
            {
                "id": node_id,
                "kind": "volume",
                "parent": _daemon_node_id(engine_id),
                "label": name,
                "status": "stale" if stale else "up",
                "name": name,
                "type": "volume",
                "driver": (row.driver if row else "") or mounted[0][1][0].get("driver") or "local",
                "scope": row.scope if row else "",
                "labels": row.labels if row else {},
                "created": row.created.isoformat() if row and row.created else None,
                "users": len(mounted),
            }
        )
        edges += [_mount_edge(container, node_id, mounts) for container, mounts in mounted]
    return nodes, edges


def _bind_source(mount: dict[str, Any]) -> str | None:
    if mount.get("type") != "bind" or not mount.get("source", "").startswith("/"):
        return None
    return posixpath.normpath(mount["source"])


def path_parts(
    containers: Iterable[ContainerLike], host_slug: str
) -> tuple[list[Node], list[Edge]]:
    """Host folders (or files) bind-mounted into two or more containers of a host's root
    daemons (which share the host's filesystem), with their mounts."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for path, mounted in sorted(_users(containers, _bind_source).items()):
        if len(mounted) < 2:
            continue
        node_id = path_id(host_slug, path)
        nodes.append(
            {
                "id": node_id,
                "kind": "volume",
                "parent": f"host:{host_slug}",
                "label": path,
                "status": "up",
                "name": path,
                "type": "bind",
                "users": len(mounted),
            }
        )
        edges += [_mount_edge(container, node_id, mounts) for container, mounts in mounted]
    return nodes, edges


@dataclass(frozen=True)
class DaemonPlace:
    """Where a daemon's published ports land: on a host (root), or in a DinD container."""

    host_slug: str | None = None
    container_hex: str | None = None


@dataclass
class PortPaths:
    """Containers with ports (any daemon) and where each daemon sits, for ``publishes`` edges."""

    containers: list[ContainerLike]
    places: dict[int, DaemonPlace]
    by_hex: dict[str, ContainerLike] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_hex = {c.container_id: c for c in self.containers}


def _forwards(binding: dict[str, Any], outer: dict[str, Any], dind: ContainerLike) -> bool:
    """Whether the DinD's published ``outer`` port reaches the nested ``binding``: same
    protocol, the outer port's container side is the nested host port, on an address of the
    DinD container that its own engine forwards to."""
    if outer.get("public") is None or outer.get("private") != binding.get("public"):
        return False
    if (outer.get("protocol") or "tcp") != (binding.get("protocol") or "tcp"):
        return False
    address = binding.get("ip") or ""
    own = {a.get("ipv4") for a in dind.attachments or ()} | {
        a.get("ipv6") for a in dind.attachments or ()
    }
    return address in ALL_INTERFACES or address in own - {"", None}


def _hops(
    container: ContainerLike, binding: dict[str, Any], paths: PortPaths, depth: int = 0
) -> list[tuple[ContainerLike, str, dict[str, Any]]] | None:
    """The hops from ``container``'s published ``binding`` out to a host, or None."""
    place = paths.places.get(container.daemon_id)
    if place is None or depth > 16:
        return None
    if place.host_slug is not None:
        return [(container, f"host:{place.host_slug}", binding)]
    dind = paths.by_hex.get(place.container_hex or "")
    if dind is None:
        return None
    for outer in dind.ports or ():
        if _forwards(binding, outer, dind):
            rest = _hops(dind, outer, paths, depth + 1)
            if rest:
                return [(container, _container_node_id(dind.container_id), binding), *rest]
    return None


def publishes_edges(paths: PortPaths) -> list[Edge]:
    """One ``publishes`` edge per hop of every path from a nested container out to a host."""
    ports: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for container in paths.containers:
        place = paths.places.get(container.daemon_id)
        if place is None or place.container_hex is None:
            continue  # a root daemon's container publishes straight on its host: not a path
        for binding in container.ports or ():
            if binding.get("public") is None:
                continue
            for source, target, hop in _hops(container, binding, paths) or ():
                listed = ports[(source.container_id, target)]
                if hop not in listed:
                    listed.append(hop)
    return [
        {
            "id": link_id("publishes", source, target),
            "kind": "publishes",
            "source": _container_node_id(source),
            "target": target,
            "ports": sorted(hops, key=lambda p: (p.get("public") or 0, p.get("ip") or "")),
        }
        for (source, target), hops in sorted(ports.items())
    ]


def daemon_parts(
    engine_id: str,
    containers: list[ContainerLike],
    networks: Iterable[NetworkLike],
    volumes: Iterable[VolumeLike],
    stale: bool = False,
) -> tuple[list[Node], list[Edge]]:
    """A daemon's networks, shared named volumes and the edges to them, and its netns edges."""
    networks = list(networks)
    nodes = [network_node(network, engine_id, stale) for network in networks]
    known = {network.network_id: network.name for network in networks}
    edges = [edge for c in containers for edge in network_edges(c, engine_id, known)]
    edges += netns_edges(containers)
    volume_nodes, mount_edges = volume_parts(
        containers, engine_id, {v.name: v for v in volumes}, stale
    )
    return nodes + volume_nodes, edges + mount_edges
