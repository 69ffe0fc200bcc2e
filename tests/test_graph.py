"""The graph builder and DOT export: pure functions over rows in memory."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from tests.graph_schema import validate_graph
from topology.inventory import graph
from topology.inventory.models import Container, Daemon, Host

NOW = datetime(2026, 11, 28, 5, 19, 1, tzinfo=UTC)


def seed_rows() -> graph.Rows:
    host = Host(pk=1, slug="build-01", name="build-01", status="up")
    root = Daemon(pk=1, engine_id="HOST:ID", host_id=1, endpoint="unix:///var/run/docker.sock")
    c1 = Container(
        pk=1, daemon_id=1, container_id="1" * 64, name="C1", image="busybox", state="running"
    )
    dind = Container(
        pk=2,
        daemon_id=1,
        container_id="2" * 64,
        name="dind-demo",
        image="docker:dind",
        state="running",
        role="dind",
        privileged=True,
    )
    dood = Container(
        pk=3,
        daemon_id=1,
        container_id="3" * 64,
        name='dood "demo"',
        image="docker:cli",
        state="running",
        role="dood",
        socket_target_id=1,
    )
    nested = Daemon(
        pk=2, engine_id="NESTED:ID", container_id=2, endpoint="unix:///tmp/n.sock", nesting=1
    )
    c3 = Container(
        pk=4, daemon_id=2, container_id="4" * 64, name="C3", image="busybox", state="exited"
    )
    sibling = Container(
        pk=5,
        daemon_id=1,
        container_id="5" * 64,
        name="sibling",
        image="busybox",
        state="running",
        created_by="3" * 64,
    )
    return graph.Rows(
        hosts=[host], daemons=[root, nested], containers=[c1, dind, dood, c3, sibling]
    )


def test_seed_picture_is_valid_and_nested() -> None:
    built = graph.build_graph(seed_rows(), 42, NOW)
    validate_graph(built)
    nodes = {n["id"]: n for n in built["nodes"]}
    assert built["version"] == 42 and built["generated_at"] == "2026-11-28T05:19:01Z"
    assert nodes["daemon:HOST:ID"]["parent"] == "host:build-01"
    assert nodes["daemon:NESTED:ID"]["parent"] == f"container:{'2' * 64}"
    assert nodes["daemon:NESTED:ID"]["nesting"] == 1
    assert nodes[f"container:{'4' * 64}"]["parent"] == "daemon:NESTED:ID"
    assert nodes[f"container:{'2' * 64}"]["privileged"] is True
    assert built["edges"] == [
        {
            "id": f"socket:{'3' * 64}->HOST:ID",
            "kind": "socket",
            "source": f"container:{'3' * 64}",
            "target": "daemon:HOST:ID",
        },
        {
            "id": f"created:{'3' * 64}->{'5' * 64}",
            "kind": "created",
            "source": f"container:{'3' * 64}",
            "target": f"container:{'5' * 64}",
        },
    ]
    assert nodes[f"container:{'5' * 64}"]["parent"] == "daemon:HOST:ID"  # beside, not inside


def test_a_created_edge_needs_both_containers() -> None:
    rows = seed_rows()
    rows.containers[-1].created_by = "9" * 64  # a creator not in the graph
    built = graph.build_graph(graph.Rows(rows.hosts, rows.daemons, rows.containers), 1, NOW)
    validate_graph(built)
    assert [e["kind"] for e in built["edges"]] == ["socket"]


def test_created_edges_follow_visibility_in_deltas() -> None:
    edge_id = f"created:{'3' * 64}->{'5' * 64}"
    message = graph.GraphDelta(remove_edges=[edge_id]).message(2, 1)
    both = {f"container:{'3' * 64}", f"container:{'5' * 64}"}
    assert graph.visible_delta(message, set(both), set())["remove"]["edges"] == [edge_id]
    one = {f"container:{'3' * 64}"}
    assert graph.visible_delta(message, one, set())["remove"]["edges"] == []


def test_stale_containers_and_the_daemons_inside_them() -> None:
    rows = seed_rows()
    rows.containers[1].stale = True
    built = graph.build_graph(rows, 1, NOW)
    validate_graph(built)
    nodes = {n["id"]: n for n in built["nodes"]}
    assert nodes[f"container:{'2' * 64}"]["status"] == "stale"
    assert nodes[f"container:{'2' * 64}"]["state"] == "running"
    assert nodes["daemon:NESTED:ID"]["status"] == "stale"


def test_dot_nests_clusters_and_escapes_labels() -> None:
    built = graph.build_graph(seed_rows(), 1, NOW)
    validate_graph(built)
    dot = graph.to_dot(built)
    assert dot.startswith("digraph topology {")
    assert '"cluster_host:build-01"' in dot
    assert '"cluster_container:' + "2" * 64 + '"' in dot
    assert 'dood \\"demo\\"' in dot
    assert "style=dashed" in dot
    assert '"container:' + "3" * 64 + '" -> "container:' + "5" * 64 + '"' in dot
    assert 'label="created", style=dotted' in dot
    assert dot.index('"cluster_container:' + "2" * 64) < dot.index('"container:' + "4" * 64)


TRICKY = [
    "ends with a backslash\\",
    'a "quoted" word',
    'x\\"]; injected [label="pwned',
    "<b>bold</b> & more",
    "two\nlines\x00and a NUL",
    "\\N \\G \\l escapes",
    "plain",
]


def _graphviz(text: str) -> dict:
    dot = shutil.which("dot")
    if dot is None:
        pytest.fail("Graphviz is missing: make test installs graphviz (the dot command)")
    done = subprocess.run([dot, "-Tjson"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return json.loads(done.stdout)


def test_dot_says_what_daemons_said_and_nothing_more() -> None:
    """Daemon text in node ids (engine ids) and labels, read back by Graphviz itself: the same
    nodes, no more (nothing breaks out of a string), each drawn with exactly its text."""
    nodes = [{"id": "host:h", "kind": "host", "parent": None, "label": "h", "status": "up"}]
    for index, text in enumerate(TRICKY):
        nodes.append(
            {"id": f"daemon:{text}", "kind": "daemon", "parent": "host:h", "label": "d"}
            | {"status": "up"}
        )
        nodes.append(
            {"id": f"container:{index}", "kind": "container", "parent": f"daemon:{text}"}
            | {"label": text, "status": "running"}
        )
    edges = [
        {"id": "e", "kind": "socket", "source": "container:0", "target": f"daemon:{TRICKY[2]}"}
    ]
    parsed = _graphviz(graph.to_dot({"version": 1, "nodes": nodes, "edges": edges}))
    drawn = {  # names as Graphviz keeps them: an HTML-like ID's entities are not decoded
        html.unescape(item["name"]): "".join(
            op["text"] for op in item.get("_ldraw_", []) if op["op"] == "T"
        )
        for item in parsed["objects"]
        if "nodes" not in item  # clusters are drawn by their label too, but hold nodes
    }

    def shown(text: str) -> str:  # control characters are replaced, everything else kept
        return text.replace("\n", "\ufffd").replace("\x00", "\ufffd")

    assert set(drawn) == {shown(node["id"]) for node in nodes}
    for index, text in enumerate(TRICKY):
        assert drawn[f"container:{index}"] == f"container: {shown(text)} (running)"
    clusters = {html.unescape(item["name"]) for item in parsed["objects"] if "nodes" in item}
    assert clusters == {"cluster_host:h", *(f"cluster_daemon:{shown(t)}" for t in TRICKY)}
    assert len(parsed["edges"]) == 1


def test_delta_message_shape() -> None:
    delta = graph.GraphDelta(upsert_nodes=[{"id": "host:a"}], remove_nodes=["container:x"])
    assert delta.message(7, 6) == {
        "type": "delta",
        "version": 7,
        "since": 6,
        "upsert": {"nodes": [{"id": "host:a"}], "edges": []},
        "remove": {"nodes": ["container:x"], "edges": []},
    }
    assert not graph.GraphDelta()
