"""What connects to what: networks, netns, shared volumes and host paths, port paths, exposure.

The first half builds the v2 parts from rows made in memory (pure functions); the second polls
the real engine's ``network_world`` (host and a DinD with its own user network) and reads the
graph every door gives.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import call_command

from tests.conftest import NetworkWorld
from tests.graph_schema import validate_graph
from topology.inventory import connectivity, graph, polling, queries
from topology.inventory.connectivity import DaemonPlace, PortPaths
from topology.inventory.models import Container, Network

ENGINE = "ENGINE:ONE"


def row(hex_digit: str, pk: int, daemon: int = 1, **fields: Any) -> Container:
    """A container row as the database holds it (not saved)."""
    base: dict[str, Any] = {
        "container_id": hex_digit * 64,
        "name": f"c{hex_digit}",
        "state": "running",
        "ports": [],
        "mounts": [],
        "attachments": [],
        "network_mode": "",
    }
    container = Container(pk=pk, daemon_id=daemon, **(base | fields))
    return container


def port(public: int | None, private: int, ip: str = "0.0.0.0") -> dict[str, Any]:
    return {"ip": ip, "public": public, "private": private, "protocol": "tcp"}


def test_exposure_is_public_for_all_interfaces_and_socket_for_a_mounted_socket() -> None:
    assert connectivity.exposure(row("1", 1, ports=[port(8080, 80)])) == ["public"]
    assert connectivity.exposure(row("1", 1, ports=[port(8080, 80, "::")])) == ["public"]
    assert connectivity.exposure(row("1", 1, ports=[port(8080, 80, "127.0.0.1")])) == []
    assert connectivity.exposure(row("1", 1, ports=[port(None, 80)])) == []  # exposed only
    socket = {"type": "bind", "source": "/run/docker.sock", "destination": "/x", "rw": True}
    assert connectivity.exposure(row("1", 1, mounts=[socket])) == ["socket"]
    dood = row("1", 1, socket_target_id=7)
    assert connectivity.exposure(dood) == ["socket"]


def test_attachments_become_edges_to_known_networks_only() -> None:
    container = row(
        "1",
        1,
        attachments=[
            {
                "network_id": "a" * 64,
                "name": "front",
                "ipv4": "10.0.0.2",
                "ipv6": "",
                "aliases": [],
            },
            {"network_id": "b" * 64, "name": "gone", "ipv4": "10.1.0.2", "ipv6": "", "aliases": []},
        ],
    )
    [edge] = connectivity.network_edges(container, ENGINE, {"a" * 64: "front"})
    assert edge == {
        "id": f"network:{'1' * 64}->network:{ENGINE}/{'a' * 64}",
        "kind": "network",
        "source": f"container:{'1' * 64}",
        "target": f"network:{ENGINE}/{'a' * 64}",
        "network": "front",
        "ipv4": "10.0.0.2",
        "ipv6": "",
        "aliases": [],
    }
    assert connectivity.link_ends(edge["id"]) == (edge["source"], edge["target"])


def test_netns_is_found_by_id_prefix_or_name_on_the_same_daemon() -> None:
    target = row("2", 2, name="vpn")
    by_id = row("1", 1, network_mode=f"container:{'2' * 64}")
    by_name = row("3", 3, network_mode="container:vpn")
    by_prefix = row("4", 4, network_mode=f"container:{'2' * 12}")
    nowhere = row("5", 5, network_mode=f"container:{'9' * 64}")
    edges = connectivity.netns_edges([target, by_id, by_name, by_prefix, nowhere])
    assert {(e["source"], e["target"]) for e in edges} == {
        (f"container:{digit * 64}", f"container:{'2' * 64}") for digit in "134"
    }


def test_a_volume_is_drawn_once_two_containers_share_it() -> None:
    def mount(destination: str, rw: bool = True) -> dict[str, Any]:
        return {"type": "volume", "source": "/v", "destination": destination, "rw": rw,
                "name": "data", "driver": "local"}  # fmt: skip

    alone = [row("1", 1, mounts=[mount("/data")])]
    assert connectivity.volume_parts(alone, ENGINE, {}) == ([], [])
    shared = [*alone, row("2", 2, mounts=[mount("/srv", rw=False)])]
    nodes, edges = connectivity.volume_parts(shared, ENGINE, {})
    assert [(n["id"], n["parent"], n["driver"], n["users"]) for n in nodes] == [
        (f"volume:{ENGINE}/data", f"daemon:{ENGINE}", "local", 2)
    ]
    assert {(e["source"][-1], e["destination"], e["read_only"]) for e in edges} == {
        ("1", "/data", False),
        ("2", "/srv", True),
    }


def test_a_host_path_is_drawn_once_two_containers_bind_it() -> None:
    def bind(source: str) -> dict[str, Any]:
        return {"type": "bind", "source": source, "destination": "/x", "rw": True}

    containers = [row("1", 1, mounts=[bind("/srv/a/")]), row("2", 2, mounts=[bind("/srv/a")])]
    nodes, edges = connectivity.path_parts(containers, "build-01")
    assert [(n["id"], n["parent"], n["kind"]) for n in nodes] == [
        ("path:build-01:/srv/a", "host:build-01", "volume")
    ]
    assert len(edges) == 2


def _dind_paths(nested_ip: str, outer: dict[str, Any]) -> list[dict[str, Any]]:
    dind = row(
        "d",
        10,
        daemon=1,
        ports=[outer],
        attachments=[{"network_id": "n", "name": "bridge", "ipv4": "172.17.0.5"}],
    )
    inner = row("e", 11, daemon=2, ports=[port(8080, 80, nested_ip)])
    places = {1: DaemonPlace(host_slug="vm"), 2: DaemonPlace(container_hex="d" * 64)}
    return connectivity.publishes_edges(PortPaths([dind, inner], places))


def test_a_port_path_runs_from_the_nested_container_through_the_dind_to_the_host() -> None:
    edges = _dind_paths("0.0.0.0", port(39873, 8080, "127.0.0.1"))
    assert [(e["source"][-3:], e["target"][-3:], e["ports"]) for e in edges] == [
        ("ddd", ":vm", [port(39873, 8080, "127.0.0.1")]),
        ("eee", "ddd", [port(8080, 80, "0.0.0.0")]),
    ]
    # Bound on the DinD's address: still reached. On its loopback, or another port: no path.
    assert len(_dind_paths("172.17.0.5", port(39873, 8080, "127.0.0.1"))) == 2
    assert _dind_paths("127.0.0.1", port(39873, 8080, "127.0.0.1")) == []
    assert _dind_paths("0.0.0.0", port(39873, 9090, "127.0.0.1")) == []


# --- Against the real engine ------------------------------------------------------------------


def _nodes(graph_: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in graph_["nodes"]}


def _edges(graph_: dict[str, Any], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["source"], e["target"]): e for e in graph_["edges"] if e["kind"] == kind}


def cid(container: Any) -> str:
    return f"container:{container.id}"


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_networks_ports_and_shared_volumes_of_the_host_and_a_dind(
    network_world: NetworkWorld, docker_client: Any
) -> None:
    world = network_world
    results = polling.poll_everything(publish=False)
    nested_engine = world.dind.client.info()["ID"]
    assert [r.error for r in results if r.engine_id == nested_engine] == [None]
    current = queries.current_graph()
    validate_graph(current)
    assert current["contract"] == 2
    nodes = _nodes(current)
    host_engine = docker_client.info()["ID"]
    host_daemon, nested_daemon = f"daemon:{host_engine}", f"daemon:{nested_engine}"
    host_node = nodes[host_daemon]["parent"]

    def net(engine: str, network: Any) -> dict[str, Any]:
        return nodes[f"network:{engine}/{network.id}"]

    front, back = net(host_engine, world.front), net(host_engine, world.back)
    assert front["parent"] == back["parent"] == host_daemon
    assert (front["driver"], front["scope"], front["internal"]) == ("bridge", "local", False)
    assert back["internal"] is True and not back["builtin"]
    assert front["labels"]["topology.managed"] == "true" and front["subnets"]
    builtin = {n["name"] for n in nodes.values() if n["kind"] == "network" and n["builtin"]}
    assert {"bridge", "host", "none"} <= builtin

    attached = _edges(current, "network")
    front_id, back_id = front["id"], back["id"]
    members = {source for (source, target) in attached if target == front_id}
    assert members == {cid(world.web1), cid(world.web2), cid(world.web3)}
    both = {target for (source, target) in attached if source == cid(world.web1)}
    assert both == {front_id, back_id}
    assert attached[(cid(world.web1), back_id)]["aliases"] == ["api"]
    assert attached[(cid(world.db), back_id)]["ipv4"].startswith(back["subnets"][0].split(".")[0])
    world.web1.reload()
    front_name = world.front.name
    expected_ip = world.web1.attrs["NetworkSettings"]["Networks"][front_name]["IPAddress"]
    assert attached[(cid(world.web1), front_id)]["ipv4"] == expected_ip
    host_network = next(n["id"] for n in nodes.values() if n.get("name") == "host"
                        and n["parent"] == host_daemon)  # fmt: skip
    assert (cid(world.hostnet), host_network) in attached
    assert (cid(world.sidecar), cid(world.web2)) in _edges(current, "netns")
    assert not [e for e in attached if e[0] == cid(world.sidecar)]

    web3 = nodes[cid(world.web3)]
    assert {"ip": "127.0.0.1", "public": world.web3_port, "private": 80, "protocol": "tcp"} in (
        web3["ports"]
    )
    assert web3["exposure"] == []
    inner_a = nodes[cid(world.inner_a)]
    assert inner_a["exposure"] == ["public"] and inner_a["parent"] == nested_daemon

    volume = nodes[f"volume:{host_engine}/{world.shared_volume.name}"]
    assert (volume["parent"], volume["driver"], volume["users"]) == (host_daemon, "local", 2)
    assert volume["labels"] == {"topology.managed": "true"}
    mounts = _edges(current, "mount")
    assert mounts[(cid(world.web1), volume["id"])]["read_only"] is False
    assert mounts[(cid(world.web2), volume["id"])]["read_only"] is True
    assert mounts[(cid(world.web2), volume["id"])]["destination"] == "/data"
    folder = nodes[f"path:{host_node.removeprefix('host:')}:{world.shared_folder}"]
    assert folder["parent"] == host_node and folder["kind"] == "volume"
    assert mounts[(cid(world.db), folder["id"])]["read_only"] is True
    assert mounts[(cid(world.web3), folder["id"])]["destination"] == "/srv/shared"

    inner = net(nested_engine, world.inner_net)
    assert inner["parent"] == nested_daemon
    assert {(cid(world.inner_a), inner["id"]), (cid(world.inner_b), inner["id"])} <= set(attached)
    published = _edges(current, "publishes")
    dind = cid(world.dind.container)
    assert published[(cid(world.inner_a), dind)]["ports"] == [
        {"ip": "0.0.0.0", "public": 8080, "private": 80, "protocol": "tcp"}
    ]
    assert published[(dind, host_node)]["ports"] == [
        {"ip": "127.0.0.1", "public": world.dind_port, "private": 8080, "protocol": "tcp"}
    ]
    # The path is real: the host's loopback port reaches inner-a's web server through the DinD.
    answer = requests.get(f"http://127.0.0.1:{world.dind_port}/", timeout=10)
    assert answer.status_code == 404 and "httpd" in answer.headers.get("Server", "httpd")

    dot = StringIO()
    call_command("topology_snapshot", "--format", "dot", stdout=dot)
    assert f'"{front_id}" [label="network: {front_name} (up)", shape=hexagon]' in dot.getvalue()
    assert f'"{volume["id"]}" [label=' in dot.getvalue()
    assert 'label="mount /data (ro)", style=dotted' in dot.getvalue()
    exported = StringIO()
    call_command("topology_snapshot", "--format", "json", stdout=exported)
    ids = {node["id"] for node in json.loads(exported.getvalue())["nodes"]}
    assert {front_id, volume["id"], folder["id"], inner["id"]} <= ids


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_nested_daemon_read_by_exec_lists_its_networks_and_inspects_only_new_ones(
    world: Any, monkeypatch: pytest.MonkeyPatch, cleanup: Any
) -> None:
    """DinD in DinD: the deepest daemon is read with the docker CLI by exec."""
    from topology.engine.reading import ExecReader

    inner = "/tmp/inner-dind-run/docker.sock"
    made = world.dind.container.exec_run(
        [
            "docker",
            "-H",
            f"unix://{inner}",
            "network",
            "create",
            "--label",
            "topology.managed=true",
            "--subnet",
            "10.77.0.0/24",
            "deep",
        ]
    )
    assert made.exit_code == 0, made.output
    cleanup.add(
        world.dind.container.exec_run, ["docker", "-H", f"unix://{inner}", "network", "rm", "deep"]
    )
    inspected: list[list[str]] = []
    original = ExecReader.inspect_networks

    def spy(self: ExecReader, ids: list[str]) -> Any:
        inspected.append(list(ids))
        return original(self, ids)

    monkeypatch.setattr(ExecReader, "inspect_networks", spy)
    polling.poll_everything(publish=False)
    deep = Network.objects.get(name="deep", daemon__access="exec")
    assert deep.subnets == ["10.77.0.0/24"] and deep.labels == {"topology.managed": "true"}
    assert any(deep.network_id in ids for ids in inspected)
    validate_graph(queries.current_graph())

    inspected.clear()
    polling.poll_everything(publish=False)
    assert [ids for ids in inspected if ids] == []  # known networks: no inspect


def test_the_graph_builder_needs_no_database() -> None:
    """``graph.connectivity_parts`` is pure: rows in memory, no query."""
    rows = graph.Rows(hosts=[], daemons=[], containers=[])
    assert graph.connectivity_parts(rows) == ([], [])
