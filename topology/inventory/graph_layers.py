"""Layers of the graph a client asks for (contract v2): pure functions over graphs and deltas.

Hosts, daemons and containers are in every answer: everything else hangs from them. On top:

- ``containment``: v1's edges (``socket``, ``client``, ``created``);
- ``networks``: network nodes; ``network``, ``netns`` and ``publishes`` edges;
- ``volumes``: shared volume and host-path nodes; ``mount`` edges;
- ``images``: image and registry nodes; ``image`` and ``registry`` edges.

No layers asked for means all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

LAYERS = ("containment", "networks", "volumes", "images")
ALL = frozenset(LAYERS)
NODE_LAYER = {"network": "networks", "volume": "volumes", "image": "images", "registry": "images"}
EDGE_LAYER = {
    "socket": "containment",
    "client": "containment",
    "created": "containment",
    "network": "networks",
    "netns": "networks",
    "publishes": "networks",
    "mount": "volumes",
    "image": "images",
    "registry": "images",
}


class UnknownLayer(ValueError):
    """A layer name the contract does not know; the message says which ones it does."""


def parse(names: Iterable[Any] | str | None) -> frozenset[str]:
    """Layer names from a list or a comma-separated text; empty or None: all of them."""
    if names is None:
        return ALL
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    chosen = set()
    for name in names:
        if not isinstance(name, str) or name not in ALL:
            shown = str(name)[:40]
            raise UnknownLayer(f"unknown layer {shown!r}: layers are {', '.join(LAYERS)}")
        chosen.add(name)
    return frozenset(chosen) if chosen else ALL


def node_wanted(node: dict[str, Any], layers: frozenset[str]) -> bool:
    layer = NODE_LAYER.get(node["kind"])
    return layer is None or layer in layers


def edge_wanted(edge: dict[str, Any], layers: frozenset[str]) -> bool:
    return EDGE_LAYER.get(edge["kind"], "containment") in layers


def _edge_kind(edge_id: str) -> str:
    return edge_id.partition(":")[0]


def graph_in(graph: dict[str, Any], layers: frozenset[str]) -> dict[str, Any]:
    """``graph`` with only the layers asked for (``ALL``: itself)."""
    if layers >= ALL:
        return graph
    nodes = [node for node in graph["nodes"] if node_wanted(node, layers)]
    ids = {node["id"] for node in nodes}
    edges = [
        edge
        for edge in graph["edges"]
        if edge_wanted(edge, layers) and edge["source"] in ids and edge["target"] in ids
    ]
    return {**graph, "nodes": nodes, "edges": edges}


def delta_in(message: dict[str, Any], layers: frozenset[str]) -> dict[str, Any]:
    """A ``delta`` message cut to the layers asked for; its versions stay (an empty delta still
    carries the version forward)."""
    if layers >= ALL:
        return message
    upsert, remove = message["upsert"], message["remove"]
    return {
        **message,
        "upsert": {
            "nodes": [node for node in upsert["nodes"] if node_wanted(node, layers)],
            "edges": [edge for edge in upsert["edges"] if edge_wanted(edge, layers)],
        },
        "remove": {
            "nodes": [
                node_id
                for node_id in remove["nodes"]
                if NODE_LAYER.get(_node_kind(node_id), "containment") in layers | {"containment"}
            ],
            "edges": [
                edge_id
                for edge_id in remove["edges"]
                if EDGE_LAYER.get(_edge_kind(edge_id), "containment") in layers
            ],
        },
    }


def _node_kind(node_id: str) -> str:
    prefix = node_id.partition(":")[0]
    return "volume" if prefix == "path" else prefix
