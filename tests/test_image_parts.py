"""Images and registries in the graph, from rows in memory (no database); who sees a registry."""

from __future__ import annotations

from typing import Any

from tests.graph_schema import validate_graph
from topology.inventory import graph, graph_layers, image_parts
from topology.inventory.models import Container, Image

ENGINE = "ENGINE:ONE"
HUB_ID = "sha256:" + "a" * 64
LOCAL_ID = "sha256:" + "b" * 64


def image(image_hex: str, *tags: str, digests: tuple = (), pk: int = 1) -> Image:
    return Image(
        pk=pk,
        daemon_id=1,
        image_id=image_hex,
        tags=list(tags),
        digests=list(digests),
        size=123,
        labels={},
    )


def container(hex_digit: str, image_id: str) -> Container:
    return Container(
        pk=int(hex_digit, 16),
        daemon_id=1,
        container_id=hex_digit * 64,
        name=f"c{hex_digit}",
        image="x",
        image_id=image_id,
        state="running",
    )


def test_registries_follow_tags_and_digests() -> None:
    found = image_parts.registries(
        ["busybox:1", "localhost:5000/x:1", "ghcr.io/a/b:2"], ["busybox@sha256:" + "c" * 64]
    )
    assert found == {
        "docker.io": {"repositories": ["library/busybox"], "pulled": True},
        "ghcr.io": {"repositories": ["a/b"], "pulled": False},
        "localhost:5000": {"repositories": ["x"], "pulled": False},
    }
    assert image_parts.registries([], []) == {}  # untagged: no registry


def test_a_daemons_images_and_the_edges_to_them() -> None:
    rows = [image(HUB_ID, "busybox:1"), image(LOCAL_ID, pk=2)]
    nodes, edges = image_parts.daemon_parts(
        ENGINE,
        [container("1", HUB_ID), container("2", HUB_ID[7:]), container("3", "sha256:gone")],
        rows,
    )
    by_id = {node["id"]: node for node in nodes}
    hub = by_id[f"image:{ENGINE}/{HUB_ID}"]
    assert (hub["users"], hub["registries"], hub["size"]) == (2, ["docker.io"], 123)
    assert by_id[f"image:{ENGINE}/{LOCAL_ID}"]["label"] == "<none> bbbbbbbbbbbb"
    kinds = sorted((edge["kind"], edge["source"][:12]) for edge in edges)
    assert kinds == [
        ("image", "container:11"),
        ("image", "container:22"),
        ("registry", "image:ENGINE"),
    ]
    for edge in edges:
        assert image_parts.edge_ends(edge["id"]) == (edge["source"], edge["target"])


def test_compose_facts_need_the_project_label() -> None:
    assert image_parts.compose({}) is None
    assert image_parts.compose({"com.docker.compose.project": "p"}) == {
        "project": "p",
        "service": "",
        "number": None,
    }
    assert (
        image_parts.compose(
            {"com.docker.compose.project": "p", "com.docker.compose.container-number": "x"}
        )["number"]
        is None
    )


def _two_teams_graph() -> dict[str, Any]:
    def parts(host: str, engine: str, tag: str) -> list[dict[str, Any]]:
        return [
            {"id": f"host:{host}", "kind": "host", "parent": None, "label": host, "status": "up"},
            {
                "id": f"daemon:{engine}",
                "kind": "daemon",
                "parent": f"host:{host}",
                "label": engine,
                "status": "up",
                "endpoint": "unix://x",
                "version": "27",
                "nesting": 0,
                "reachable": True,
            },
            image_parts.image_node(image(HUB_ID, tag), engine),
        ]

    nodes = parts("a", "EA", "busybox:1") + parts("b", "EB", "registry.b.corp/secret:1")
    nodes += [image_parts.registry_node("docker.io"), image_parts.registry_node("registry.b.corp")]
    edges = [
        {
            "id": image_parts.registry_edge_id(f"image:EA/{HUB_ID}", "docker.io"),
            "kind": "registry",
            "source": f"image:EA/{HUB_ID}",
            "target": "registry:docker.io",
        },
        {
            "id": image_parts.registry_edge_id(f"image:EB/{HUB_ID}", "registry.b.corp"),
            "kind": "registry",
            "source": f"image:EB/{HUB_ID}",
            "target": "registry:registry.b.corp",
        },
    ]
    return {"version": 1, "contract": 2, "nodes": nodes, "edges": edges}


def test_a_registry_is_seen_only_by_those_whose_images_live_there() -> None:
    whole = _two_teams_graph()
    validate_graph(whole)
    seen = graph.visible_graph(whole, {"host:a"})
    ids = {node["id"] for node in seen["nodes"]}
    assert "registry:docker.io" in ids and "registry:registry.b.corp" not in ids
    assert [e["target"] for e in seen["edges"]] == ["registry:docker.io"]
    validate_graph(seen)


def test_a_delta_brings_a_registry_with_the_first_edge_a_client_may_see() -> None:
    whole = _two_teams_graph()
    visible = {"host:a", "daemon:EA"}
    delta = graph.GraphDelta(upsert_nodes=whole["nodes"], upsert_edges=whole["edges"])
    cut = graph.visible_delta(delta.message(2, 1), visible, {"host:a"})
    ids = {node["id"] for node in cut["upsert"]["nodes"]}
    assert {f"image:EA/{HUB_ID}", "registry:docker.io"} <= ids
    assert "registry:registry.b.corp" not in ids and len(cut["upsert"]["edges"]) == 1
    removal = graph.GraphDelta(remove_edges=[e["id"] for e in whole["edges"]])
    gone = graph.visible_delta(removal.message(3, 2), visible, {"host:a"})
    assert gone["remove"]["edges"] == [whole["edges"][0]["id"]]


def test_the_images_layer_cuts_images_and_registries() -> None:
    whole = _two_teams_graph()
    without = graph_layers.graph_in(whole, frozenset({"containment"}))
    assert not [n for n in without["nodes"] if n["kind"] in ("image", "registry")]
    assert without["edges"] == []
    assert graph_layers.graph_in(whole, frozenset({"images"}))["edges"] == whole["edges"]
    dot = graph.to_dot(whole)
    assert f'"image:EA/{HUB_ID}" [label="image: busybox:1 (up)", shape=note]' in dot
    assert '"registry:docker.io" [label="registry: docker.io (up)", shape=folder]' in dot
