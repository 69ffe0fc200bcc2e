"""The contract's graph, built from rows already in memory: pure functions, no queries.

See ``shared/contract``: nodes for hosts, daemons and containers nested by ``parent``, a
``socket`` edge from each DooD container to the daemon whose socket it mounts, and a ``created``
edge from a container to each one it asked a daemon for, where that is known; networks, shared
volumes and published-port paths come from ``connectivity``, images and registries from
``image_parts`` (contract v2).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from topology.inventory import connectivity, image_parts
from topology.inventory.connectivity import DaemonPlace, PortPaths
from topology.inventory.graph_rows import (
    ContainerLike,
    DaemonLike,
    ImageLike,
    NetworkLike,
    VolumeLike,
)
from topology.inventory.models import Host, Status

CONTRACT = 2

Node = dict[str, Any]
Edge = dict[str, Any]


def host_id(host: Host) -> str:
    return f"host:{host.slug}"


def daemon_id(engine_id: str) -> str:
    return f"daemon:{engine_id}"


def container_id(container_hex: str) -> str:
    return f"container:{container_hex}"


def socket_edge_id(container_hex: str, engine_id: str) -> str:
    return f"socket:{container_hex}->{engine_id}"


def created_edge_id(creator_hex: str, child_hex: str) -> str:
    return f"created:{creator_hex}->{child_hex}"


def client_edge_id(container_hex: str, engine_id: str) -> str:
    return f"client:{container_hex}->{engine_id}"


def host_node(host: Host) -> Node:
    return {
        "id": host_id(host),
        "kind": "host",
        "parent": None,
        "label": host.name,
        "status": host.status,
        "team": host.team.slug if host.team_id else None,
    }


def daemon_node(daemon: DaemonLike, parent: str, stale: bool = False) -> Node:
    status = Status.STALE if stale and daemon.status == Status.UP else daemon.status
    return {
        "id": daemon_id(daemon.engine_id),
        "kind": "daemon",
        "parent": parent,
        "label": daemon.name or daemon.engine_id,
        "status": str(status),
        "endpoint": daemon.endpoint,
        "engine": daemon.engine,
        "identity": daemon.identity,
        "access": daemon.access,
        "version": daemon.version,
        "api_version": daemon.api_version,
        "os": daemon.operating_system,
        "nesting": daemon.nesting,
        "reachable": daemon.status == Status.UP,
        "last_error": daemon.last_error,
        "watch": daemon.watch,
        "watch_since": daemon.watch_since.isoformat() if daemon.watch_since else None,
        "behind": daemon.behind,
    }


def container_node(container: ContainerLike, engine_id: str) -> Node:
    node = _with_health(
        container,
        {
            "id": container_id(container.container_id),
            "kind": "container",
            "parent": daemon_id(engine_id),
            "label": container.name,
            "status": "stale" if container.stale else container.state,
            "name": container.name,
            "image": container.image,
            "role": container.role,
            "privileged": container.privileged,
            "state": container.state,
            "created": container.created.isoformat() if container.created else None,
            "labels": container.labels,
            "mounts": container.mounts,
            "ports": container.ports,
            "networks": container.networks,
            "network_mode": container.network_mode,
            "exposure": connectivity.exposure(container),
        },
    )
    compose = image_parts.compose(container.labels)
    if compose:
        node["compose"] = compose
    return node


def _with_health(container: ContainerLike, node: Node) -> Node:
    """Contract v2's ``health``; with a healthcheck, also its failing streak and last probes
    (``health_streak``, ``health_probes``: bounded, daemon text for the details panel)."""
    node["health"] = container.health
    log = container.health_log if isinstance(container.health_log, dict) else {}
    if container.health != "none" and log:
        node["health_streak"] = log.get("failing_streak", 0)
        node["health_probes"] = log.get("probes", [])
    return node


def socket_edge(container_hex: str, engine_id: str) -> Edge:
    return {
        "id": socket_edge_id(container_hex, engine_id),
        "kind": "socket",
        "source": container_id(container_hex),
        "target": daemon_id(engine_id),
    }


def client_edge(container_hex: str, engine_id: str) -> Edge:
    """The container's configuration points DOCKER_HOST at this daemon (never the value)."""
    return {
        "id": client_edge_id(container_hex, engine_id),
        "kind": "client",
        "source": container_id(container_hex),
        "target": daemon_id(engine_id),
    }


def created_edge(creator_hex: str, child_hex: str) -> Edge:
    """The creator asked a daemon for the child (a DooD demo's sibling, see ``provenance``)."""
    return {
        "id": created_edge_id(creator_hex, child_hex),
        "kind": "created",
        "source": container_id(creator_hex),
        "target": container_id(child_hex),
    }


@dataclass
class Rows:
    """Everything the graph is built from, loaded by ``queries.load_rows``."""

    hosts: list[Host]
    daemons: list[DaemonLike]
    containers: list[ContainerLike]
    networks: list[NetworkLike] = field(default_factory=list)
    volumes: list[VolumeLike] = field(default_factory=list)
    images: list[ImageLike] = field(default_factory=list)
    engine_by_daemon_pk: dict[int, str] = field(default_factory=dict)
    container_hex_by_pk: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine_by_daemon_pk = {d.pk: d.engine_id for d in self.daemons}
        self.container_hex_by_pk = {c.pk: c.container_id for c in self.containers}


def daemon_parent(daemon: DaemonLike, rows: Rows) -> str:
    if daemon.container_id is not None and daemon.container_id in rows.container_hex_by_pk:
        return container_id(rows.container_hex_by_pk[daemon.container_id])
    host = next((h for h in rows.hosts if h.pk == daemon.host_id), None)
    return host_id(host) if host else "host:unknown"


def nodes_and_edges(rows: Rows) -> tuple[list[Node], list[Edge]]:
    stale_containers = {c.pk for c in rows.containers if c.stale}
    nodes = [host_node(host) for host in rows.hosts]
    nodes += [
        daemon_node(d, daemon_parent(d, rows), stale=d.container_id in stale_containers)
        for d in rows.daemons
    ]
    edges = []
    for container in rows.containers:
        engine_id = rows.engine_by_daemon_pk[container.daemon_id]
        nodes.append(container_node(container, engine_id))
        target = rows.engine_by_daemon_pk.get(container.socket_target_id or -1)
        if target:
            edges.append(socket_edge(container.container_id, target))
        client = rows.engine_by_daemon_pk.get(container.client_target_id or -1)
        if client:
            edges.append(client_edge(container.container_id, client))
    known = set(rows.container_hex_by_pk.values())
    edges += [
        created_edge(c.created_by, c.container_id)
        for c in rows.containers
        if c.created_by and c.created_by in known
    ]
    more_nodes, more_edges = connectivity_parts(rows)
    image_nodes, image_edges = image_graph_parts(rows)
    return nodes + more_nodes + image_nodes, edges + more_edges + image_edges


def daemon_places(
    daemons: Iterable[DaemonLike], hosts: Iterable[Host], containers: dict[int, str]
) -> dict[int, DaemonPlace]:
    """Where each daemon's published ports land (``connectivity.DaemonPlace``), by daemon pk;
    ``containers`` maps a container pk to its hex id."""
    slugs = {host.pk: host.slug for host in hosts}
    places = {}
    for daemon in daemons:
        if daemon.container_id is not None:
            places[daemon.pk] = DaemonPlace(container_hex=containers.get(daemon.container_id))
        elif daemon.host_id in slugs:
            places[daemon.pk] = DaemonPlace(host_slug=slugs[daemon.host_id])
    return places


def connectivity_parts(rows: Rows) -> tuple[list[Node], list[Edge]]:
    """Networks, shared volumes and host paths, and the edges to them; port paths (v2)."""
    by_daemon: dict[int, list[ContainerLike]] = {}
    for container in rows.containers:
        by_daemon.setdefault(container.daemon_id, []).append(container)
    networks: dict[int, list[NetworkLike]] = {}
    for network in rows.networks:
        networks.setdefault(network.daemon_id, []).append(network)
    volumes: dict[int, list[VolumeLike]] = {}
    for volume in rows.volumes:
        volumes.setdefault(volume.daemon_id, []).append(volume)
    nodes: list[Node] = []
    edges: list[Edge] = []
    stale_containers = {c.pk for c in rows.containers if c.stale}
    for daemon in rows.daemons:
        stale = daemon.status != Status.UP or daemon.container_id in stale_containers
        more_nodes, more_edges = connectivity.daemon_parts(
            daemon.engine_id,
            by_daemon.get(daemon.pk, []),
            networks.get(daemon.pk, []),
            volumes.get(daemon.pk, []),
            stale,
        )
        nodes += more_nodes
        edges += more_edges
    for host in rows.hosts:
        root_containers = [
            container
            for daemon in rows.daemons
            if daemon.host_id == host.pk and daemon.container_id is None
            for container in by_daemon.get(daemon.pk, [])
        ]
        more_nodes, more_edges = connectivity.path_parts(root_containers, host.slug)
        nodes += more_nodes
        edges += more_edges
    places = daemon_places(rows.daemons, rows.hosts, rows.container_hex_by_pk)
    edges += connectivity.publishes_edges(
        PortPaths([c for c in rows.containers if c.ports], places)
    )
    return nodes, edges


def image_graph_parts(rows: Rows) -> tuple[list[Node], list[Edge]]:
    """Every daemon's images, the edges of its containers to them, the registries (v2)."""
    by_daemon: dict[int, list[ContainerLike]] = {}
    for container in rows.containers:
        by_daemon.setdefault(container.daemon_id, []).append(container)
    images: dict[int, list[ImageLike]] = {}
    for image in rows.images:
        images.setdefault(image.daemon_id, []).append(image)
    stale_containers = {c.pk for c in rows.containers if c.stale}
    nodes: list[Node] = []
    edges: list[Edge] = []
    for daemon in rows.daemons:
        if daemon.pk not in images:
            continue
        stale = daemon.status != Status.UP or daemon.container_id in stale_containers
        more_nodes, more_edges = image_parts.daemon_parts(
            daemon.engine_id, by_daemon.get(daemon.pk, []), images[daemon.pk], stale
        )
        nodes += more_nodes
        edges += more_edges
    return nodes + image_parts.registry_nodes(rows.images), edges


def build_graph(rows: Rows, version: int, generated_at: datetime) -> dict[str, Any]:
    nodes, edges = nodes_and_edges(rows)
    return {
        "version": version,
        "contract": CONTRACT,
        "generated_at": generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nodes": nodes,
        "edges": edges,
    }


@dataclass
class GraphDelta:
    """What one change did to the graph: the websocket ``delta`` message without its versions."""

    upsert_nodes: list[Node] = field(default_factory=list)
    upsert_edges: list[Edge] = field(default_factory=list)
    remove_nodes: list[str] = field(default_factory=list)
    remove_edges: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.upsert_nodes or self.upsert_edges or self.remove_nodes or self.remove_edges
        )

    def extend(self, other: GraphDelta) -> None:
        self.upsert_nodes += other.upsert_nodes
        self.upsert_edges += other.upsert_edges
        self.remove_nodes += other.remove_nodes
        self.remove_edges += other.remove_edges

    def message(self, version: int, since: int) -> dict[str, Any]:
        return {
            "type": "delta",
            "version": version,
            "since": since,
            "upsert": {"nodes": self.upsert_nodes, "edges": self.upsert_edges},
            "remove": {"nodes": self.remove_nodes, "edges": self.remove_edges},
        }


EDGE_STYLES = {
    "socket": "dashed",
    "client": "dashed",
    "created": "dotted",
    "mount": "dotted",
    "netns": "bold",
    "publishes": "bold",
}
NODE_SHAPES = {"network": "hexagon", "volume": "cylinder", "image": "note", "registry": "folder"}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PLAIN_DOT_TEXT = re.compile(r'^[^"\\<>&\x00-\x1f\x7f-\x9f]*$')


def _dot_id(value: str) -> str:
    """A DOT ID that is ``value`` and nothing else, whatever a daemon put in it (an engine ID).

    Plain text is a double-quoted string. Anything else is an HTML-like string (``<...>``) with
    ``& < > " '`` as entities and control characters replaced: a backslash before a quoted
    string's closing quote ends the string in some Graphviz versions and not in others, while
    in an HTML-like string it is just a backslash (and an ID is never an escape string).
    """
    if _PLAIN_DOT_TEXT.match(value):
        return f'"{value}"'
    return f"<{html.escape(_CONTROL.sub(chr(0xFFFD), value), quote=True)}>"


def _dot_label(value: str) -> str:
    """A label: a double-quoted escape string, drawn as ``value`` is written.

    Graphviz's rules: in a quoted string ``\\"`` is a quote and ``\\\\`` a backslash (so
    ``\\N``, ``\\l`` and the like stay text); control characters are replaced. The labels
    built here always end with ``)``, never with a backslash, which older Graphviz versions
    could not read before the closing quote.
    """
    text = _CONTROL.sub(chr(0xFFFD), value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _node_label(node: Node) -> str:
    return _dot_label(f"{node['kind']}: {node['label']} ({node['status']})")


def _edge_label(edge: Edge) -> str:
    if edge["kind"] == "network":
        address = edge.get("ipv4") or edge.get("ipv6")
        return f"network {address}" if address else "network"
    if edge["kind"] == "mount":
        mode = "ro" if edge.get("read_only") else "rw"
        return f"mount {edge.get('destination', '')} ({mode})"
    if edge["kind"] == "publishes":
        ports = ", ".join(
            f"{p.get('ip') or '*'}:{p.get('public')}->{p.get('private')}/{p.get('protocol')}"
            for p in edge.get("ports") or ()
        )
        return f"publishes {ports}"
    return edge["kind"]


def to_dot(graph: dict[str, Any]) -> str:
    """Graphviz text: compound nodes as nested clusters, networks as hexagons, volumes as
    cylinders; socket edges dashed, created and mounts dotted, netns and port paths bold."""
    children: dict[str | None, list[Node]] = {}
    for node in graph["nodes"]:
        children.setdefault(node["parent"], []).append(node)
    lines = ["digraph topology {", "  compound=true;", "  node [shape=box];"]

    def attributes(node: Node, label: str) -> str:
        shape = NODE_SHAPES.get(node["kind"])
        return f"label={label}" + (f", shape={shape}" if shape else "")

    def emit(parent: str | None, depth: int) -> None:
        pad = "  " * depth
        for node in children.get(parent, []):
            label = _node_label(node)
            if node["id"] in children:
                lines.append(f"{pad}subgraph {_dot_id('cluster_' + node['id'])} {{")
                lines.append(f"{pad}  label={label};")
                lines.append(f"{pad}  {_dot_id(node['id'])} [label={label}];")
                emit(node["id"], depth + 1)
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{_dot_id(node['id'])} [{attributes(node, label)}];")

    emit(None, 1)
    ids = {node["id"] for node in graph["nodes"]}
    orphans = [node for node in graph["nodes"] if node["parent"] and node["parent"] not in ids]
    for node in orphans:
        lines.append(f"  {_dot_id(node['id'])} [label={_node_label(node)}];")
    for edge in graph["edges"]:
        style = EDGE_STYLES.get(edge["kind"], "solid")
        lines.append(
            f"  {_dot_id(edge['source'])} -> {_dot_id(edge['target'])} "
            f"[label={_dot_label(_edge_label(edge))}, style={style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def iter_ids(nodes: Iterable[Node]) -> list[str]:
    return [node["id"] for node in nodes]


def visible_graph(graph: dict[str, Any], allowed_hosts: set[str] | None) -> dict[str, Any]:
    """The part of ``graph`` under the allowed host node ids (``None``: all of it).

    Everything nested under a host belongs to that host's team, so a node is visible exactly
    when the host at the root of its parent chain is.
    """
    if allowed_hosts is None:
        return graph
    parents = {node["id"]: node["parent"] for node in graph["nodes"]}

    def root(node_id: str) -> str:
        seen = set()
        while parents.get(node_id) and node_id not in seen:
            seen.add(node_id)
            node_id = parents[node_id]
        return node_id

    nodes = [node for node in graph["nodes"] if root(node["id"]) in allowed_hosts]
    ids = {node["id"] for node in nodes}
    shared = _shared_nodes_reached(graph["nodes"], graph["edges"], ids)
    nodes += [node for node in graph["nodes"] if node["id"] in shared]
    ids |= shared
    edges = [e for e in graph["edges"] if e["source"] in ids and e["target"] in ids]
    return {**graph, "nodes": nodes, "edges": edges}


def _shared_nodes_reached(nodes: Iterable[Node], edges: Iterable[Edge], seen: set[str]) -> set[str]:
    """Ids of the nodes outside every host (registries) that an edge from ``seen`` reaches: a
    registry is shown to those whose images live there, and to no one else."""
    shared = {node["id"] for node in nodes if node["kind"] == "registry"}
    return {e["target"] for e in edges if e["source"] in seen and e["target"] in shared}


def visible_delta(
    message: dict[str, Any], visible: set[str], allowed_hosts: set[str] | None
) -> dict[str, Any]:
    """``message`` (a delta) cut to what a client may see; ``visible`` (the node ids that client
    holds) is updated in place. A new node is visible when its parent is."""
    if allowed_hosts is None:
        for node in message["upsert"]["nodes"]:
            visible.add(node["id"])
        for node_id in message["remove"]["nodes"]:
            visible.discard(node_id)
        return message
    nodes = []
    upserted = message["upsert"]["nodes"]
    for node in upserted:
        parent = node["parent"]
        if node["kind"] == "registry":
            continue
        if (
            node["id"] in visible
            or (parent is None and node["id"] in allowed_hosts)
            or (parent is not None and parent in visible)
        ):
            visible.add(node["id"])
            nodes.append(node)
    shared = _shared_nodes_reached(upserted, message["upsert"]["edges"], visible)
    for node in upserted:
        if node["kind"] == "registry" and (node["id"] in shared or node["id"] in visible):
            visible.add(node["id"])
            nodes.append(node)
    edges = [
        e for e in message["upsert"]["edges"] if e["source"] in visible and e["target"] in visible
    ]
    removed_nodes = [node_id for node_id in message["remove"]["nodes"] if node_id in visible]
    removed_edges = [  # only edges the client can have had: both ends visible to it
        edge_id for edge_id in message["remove"]["edges"] if _ends_visible(edge_id, visible)
    ]
    for node_id in removed_nodes:
        visible.discard(node_id)
    return {
        **message,
        "upsert": {"nodes": nodes, "edges": edges},
        "remove": {"nodes": removed_nodes, "edges": removed_edges},
    }


def _ends_visible(edge_id: str, visible: set[str]) -> bool:
    ends = _edge_ends(edge_id)
    return bool(ends) and all(end in visible for end in ends)


def _edge_ends(edge_id: str) -> tuple[str, ...]:
    """The node ids an edge id names (``socket:<container hex>-><engine id>``, ``client:`` the
    same, ``created:<container hex>-><container hex>``)."""
    kind, _, rest = edge_id.partition(":")
    source, _, target = rest.partition("->")
    if kind in {"socket", "client"}:
        return (container_id(source), daemon_id(target))
    if kind == "created":
        return (container_id(source), container_id(target))
    return connectivity.link_ends(edge_id) or image_parts.edge_ends(edge_id) or ()
