"""What every graph must be, checked in one place: the contract's shape and the promises a
browser relies on to draw it (one node per id, parents that exist and never loop, edges whose
ends exist and are of the kinds the contract says).

``graph_problems`` lists what is wrong (pure, no queries); ``check_graph`` raises on the first
list that is not empty. ``apply_delta`` is what a client does with a websocket delta: a graph
and the deltas after it, applied in order, must give the graph read at the end.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

NODE_KINDS = {"host", "daemon", "container", "registry", "network", "volume", "image"}
ID_PREFIXES = {
    "host": ("host:",),
    "daemon": ("daemon:",),
    "container": ("container:",),
    "registry": ("registry:",),
    "network": ("network:",),
    "volume": ("volume:", "path:"),
    "image": ("image:",),
}
#: The kinds a node's parent may be (None: a root).
PARENT_KINDS: dict[str, set[str | None]] = {
    "host": {None},
    "registry": {None},
    "daemon": {"host", "container"},
    "container": {"daemon"},
    "network": {"daemon"},
    "volume": {"daemon", "host"},
    "image": {"daemon"},
}
#: Edge kind: (source kinds, target kinds).
EDGE_ENDS: dict[str, tuple[set[str], set[str]]] = {
    "socket": ({"container"}, {"daemon"}),
    "client": ({"container"}, {"daemon"}),
    "created": ({"container"}, {"container"}),
    "network": ({"container"}, {"network"}),
    "netns": ({"container"}, {"container"}),
    "mount": ({"container"}, {"volume"}),
    "image": ({"container"}, {"image"}),
    "registry": ({"image"}, {"registry"}),
    "publishes": ({"container"}, {"host", "container"}),
}
HOST_STATUSES = {"up", "unreachable", "stale"}
CONTAINER_STATES = {"running", "exited", "paused", "created", "restarting", "dead", "removing"}
ROLES = {"plain", "dind", "dood"}
SECRET_KEYS = {"env", "Env", "environment"}
CONTAINER_HEX = re.compile(r"^container:[0-9a-f]{64}$")


class GraphInvariantError(AssertionError):
    """A graph broke an invariant; the message lists every problem found."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_problems(node: dict[str, Any]) -> Iterable[str]:
    """Fields the contract requires of this node's kind, of the types it says."""
    kind = node["kind"]
    where = node["id"]

    def want(name: str, check: Any, what: str) -> Iterable[str]:
        if name not in node:
            yield f"{where}: no {name}"
        elif not check(node[name]):
            yield f"{where}: {name} is not {what} ({node[name]!r:.60})"

    def text(value: Any) -> bool:
        return isinstance(value, str)

    def strings(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    yield from want("label", text, "a string")
    yield from want("status", text, "a string")
    if kind in {"host", "daemon"}:
        yield from want("status", lambda v: v in HOST_STATUSES, "up, unreachable or stale")
    if kind == "daemon":
        yield from want("endpoint", text, "a string")
        yield from want("version", text, "a string")
        yield from want("nesting", lambda v: _is_int(v) and v >= 0, "a count")
        yield from want("reachable", lambda v: isinstance(v, bool), "a boolean")
    elif kind == "container":
        if not CONTAINER_HEX.match(where):
            yield f"{where}: a container id is container:<64 hex>"
        yield from want("name", text, "a string")
        yield from want("image", text, "a string")
        yield from want("role", lambda v: v in ROLES, "plain, dind or dood")
        yield from want("privileged", lambda v: isinstance(v, bool), "a boolean")
        yield from want("state", lambda v: v in CONTAINER_STATES, "a Docker state")
        for key in SECRET_KEYS & node.keys():
            yield f"{where}: carries {key} (environment never leaves the server)"
    elif kind == "network":
        for name in ("name", "driver", "scope"):
            yield from want(name, text, "a string")
        yield from want("internal", lambda v: isinstance(v, bool), "a boolean")
        yield from want("subnets", strings, "a list of strings")
    elif kind == "volume":
        yield from want("name", text, "a string")
    elif kind == "image":
        yield from want("tags", strings, "a list of strings")
        yield from want("size", lambda v: _is_int(v) and v >= 0, "a size in bytes")


def graph_problems(graph: Any) -> list[str]:
    """Everything wrong with ``graph`` (empty: it holds every invariant)."""
    if not isinstance(graph, dict):
        return ["the graph is not an object"]
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        return ["the graph has no nodes or edges list"]
    problems: list[str] = []
    kinds: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            problems.append(f"node {index} has no id")
            continue
        node_id, kind = node["id"], node.get("kind")
        if node_id in kinds:
            problems.append(f"{node_id}: two nodes have this id")
            continue
        if kind not in NODE_KINDS:
            problems.append(f"{node_id}: unknown kind {kind!r:.40}")
            continue
        if not node_id.startswith(ID_PREFIXES[kind]) or len(node_id) <= len(kind) + 1:
            problems.append(f"{node_id}: the id of a {kind} starts with {ID_PREFIXES[kind]}")
        parent = node.get("parent", "missing")
        if parent is not None and not isinstance(parent, str):
            problems.append(f"{node_id}: parent is neither a node id nor null")
            parent = None
        kinds[node_id] = kind
        parents[node_id] = parent
        problems += _field_problems(node)
    for node_id, parent in parents.items():
        kind = kinds[node_id]
        if parent is None:
            if None not in PARENT_KINDS[kind]:
                problems.append(f"{node_id}: a {kind} needs a parent")
        elif parent not in kinds:
            problems.append(f"{node_id}: its parent {parent} is not in the graph")
        elif kinds[parent] not in PARENT_KINDS[kind]:
            problems.append(f"{node_id}: a {kind} cannot be inside a {kinds[parent]}")
    problems += _cycles(parents)
    problems += _edge_problems(edges, kinds)
    return problems


def _cycles(parents: dict[str, str | None]) -> list[str]:
    problems = []
    settled: set[str] = set()
    for start in parents:
        chain: list[str] = []
        on_chain: set[str] = set()
        node: str | None = start
        while node is not None and node in parents and node not in settled:
            if node in on_chain:
                loop = chain[chain.index(node) :]
                problems.append(f"{node}: the parent chain loops ({' > '.join(loop)})")
                break
            chain.append(node)
            on_chain.add(node)
            node = parents[node]
        settled |= on_chain
    return problems


def _edge_problems(edges: list[Any], kinds: dict[str, str]) -> list[str]:
    problems = []
    seen: set[str] = set()
    for index, edge in enumerate(edges):
        if not isinstance(edge, dict) or not isinstance(edge.get("id"), str):
            problems.append(f"edge {index} has no id")
            continue
        edge_id, kind = edge["id"], edge.get("kind")
        if edge_id in seen:
            problems.append(f"{edge_id}: two edges have this id")
            continue
        seen.add(edge_id)
        if kind not in EDGE_ENDS:
            problems.append(f"{edge_id}: unknown edge kind {kind!r:.40}")
            continue
        sources, targets = EDGE_ENDS[kind]
        for end, allowed in (("source", sources), ("target", targets)):
            node_id = edge.get(end)
            if node_id not in kinds:
                problems.append(f"{edge_id}: its {end} {node_id!r:.80} is not in the graph")
            elif kinds[node_id] not in allowed:
                problems.append(f"{edge_id}: a {kind} edge's {end} is not a {'/'.join(allowed)}")
    return problems


def check_graph(graph: Any) -> None:
    """Raise ``GraphInvariantError`` listing every problem of ``graph``, if it has any."""
    problems = graph_problems(graph)
    if problems:
        shown = "\n".join(f"- {problem}" for problem in problems[:50])
        more = f"\n(and {len(problems) - 50} more)" if len(problems) > 50 else ""
        raise GraphInvariantError(f"the graph breaks {len(problems)} invariant(s):\n{shown}{more}")


def apply_delta(graph: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """``graph`` after a websocket ``delta``, as a client applies it (``static/topology/
    store.js``): upserts replace by id, then removals; a node both upserted and removed ends
    removed, and so does every edge touching a removed node."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    edges = {edge["id"]: edge for edge in graph["edges"]}
    for node in message["upsert"]["nodes"]:
        nodes[node["id"]] = copy.deepcopy(node)
    for edge in message["upsert"]["edges"]:
        edges[edge["id"]] = copy.deepcopy(edge)
    for edge_id in message["remove"]["edges"]:
        edges.pop(edge_id, None)
    removed = set(message["remove"]["nodes"])
    for node_id in removed:
        nodes.pop(node_id, None)
    edges = {
        edge_id: edge
        for edge_id, edge in edges.items()
        if edge["source"] not in removed and edge["target"] not in removed
    }
    return {
        **graph,
        "version": message["version"],
        "nodes": list(nodes.values()),
        "edges": list(edges.values()),
    }


def same_graph(one: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """How two graphs differ in their nodes and edges (order aside; empty: they are equal)."""
    differences = []
    for part in ("nodes", "edges"):
        mine = {item["id"]: item for item in one[part]}
        theirs = {item["id"]: item for item in other[part]}
        for item_id in sorted(mine.keys() - theirs.keys()):
            differences.append(f"{part}: {item_id} only in the first")
        for item_id in sorted(theirs.keys() - mine.keys()):
            differences.append(f"{part}: {item_id} only in the second")
        for item_id in sorted(mine.keys() & theirs.keys()):
            if mine[item_id] != theirs[item_id]:
                keys = sorted(
                    key
                    for key in mine[item_id].keys() | theirs[item_id].keys()
                    if mine[item_id].get(key) != theirs[item_id].get(key)
                )
                differences.append(f"{part}: {item_id} differs in {', '.join(keys)}")
    return differences
