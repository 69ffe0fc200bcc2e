"""Layers of the graph (contract v2): what each one holds, for snapshots and deltas alike."""

from __future__ import annotations

import pytest

from topology.inventory import graph_layers

CONTAINER = {"id": "container:" + "1" * 64, "kind": "container", "parent": "daemon:E"}
NETWORK = {"id": "network:E/abc", "kind": "network", "parent": "daemon:E"}
VOLUME = {"id": "path:vm:/srv", "kind": "volume", "parent": "host:vm"}
GRAPH = {
    "version": 3,
    "nodes": [
        {"id": "host:vm", "kind": "host", "parent": None},
        {"id": "daemon:E", "kind": "daemon", "parent": "host:vm"},
        CONTAINER,
        NETWORK,
        VOLUME,
    ],
    "edges": [
        {"id": "socket:1->E", "kind": "socket", "source": CONTAINER["id"], "target": "daemon:E"},
        {"id": "network:1->network:E/abc", "kind": "network", "source": CONTAINER["id"],
         "target": NETWORK["id"]},
        {"id": "mount:1->path:vm:/srv", "kind": "mount", "source": CONTAINER["id"],
         "target": VOLUME["id"]},
    ],
}  # fmt: skip


def test_names_are_parsed_from_a_list_or_a_text_and_none_means_all() -> None:
    assert graph_layers.parse(None) == graph_layers.ALL
    assert graph_layers.parse("") == graph_layers.ALL
    assert graph_layers.parse("networks, volumes") == {"networks", "volumes"}
    assert graph_layers.parse(["containment"]) == {"containment"}
    for bad in (["routers"], [7], "containment,cables"):
        with pytest.raises(graph_layers.UnknownLayer, match="layers are containment, networks"):
            graph_layers.parse(bad)


@pytest.mark.parametrize(
    ("chosen", "nodes", "edges"),
    [
        ("containment", {"host:vm", "daemon:E", CONTAINER["id"]}, {"socket"}),
        ("networks", {"host:vm", "daemon:E", CONTAINER["id"], NETWORK["id"]}, {"network"}),
        ("volumes", {"host:vm", "daemon:E", CONTAINER["id"], VOLUME["id"]}, {"mount"}),
    ],
)
def test_each_layer_adds_its_nodes_and_edges_to_the_skeleton(
    chosen: str, nodes: set[str], edges: set[str]
) -> None:
    cut = graph_layers.graph_in(GRAPH, graph_layers.parse(chosen))
    assert {n["id"] for n in cut["nodes"]} == nodes
    assert {e["kind"] for e in cut["edges"]} == edges
    assert graph_layers.graph_in(GRAPH, graph_layers.ALL) is GRAPH


def test_a_delta_is_cut_the_same_way_and_keeps_its_versions() -> None:
    message = {
        "type": "delta",
        "version": 5,
        "since": 4,
        "upsert": {"nodes": [CONTAINER, NETWORK, VOLUME], "edges": GRAPH["edges"]},
        "remove": {
            "nodes": ["network:E/old", "path:vm:/old", "container:" + "2" * 64],
            "edges": ["network:2->network:E/old", "socket:2->E", "mount:2->path:vm:/old"],
        },
    }
    cut = graph_layers.delta_in(message, graph_layers.parse("containment"))
    assert (cut["version"], cut["since"]) == (5, 4)
    assert [n["id"] for n in cut["upsert"]["nodes"]] == [CONTAINER["id"]]
    assert [e["kind"] for e in cut["upsert"]["edges"]] == ["socket"]
    assert cut["remove"] == {"nodes": ["container:" + "2" * 64], "edges": ["socket:2->E"]}
    networks = graph_layers.delta_in(message, graph_layers.parse("networks"))
    assert networks["remove"]["nodes"] == ["network:E/old", "container:" + "2" * 64]
