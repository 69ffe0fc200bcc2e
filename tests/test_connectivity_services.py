"""Networks and volumes into the database, and the deltas their changes make.

Pretend engines (``services.reconcile`` of made-up snapshots) for what needs no Docker; the real
engine for a container connecting to and disconnecting from a network, and for an engine whose
network listing is nonsense (a FAKE engine: a real one cannot be made to answer that).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import NetworkWorld, container_info
from tests.fake_engine import FakeEngine
from tests.graph_schema import validate_graph
from topology.engine.types import (
    Attachment,
    DaemonSnapshot,
    EngineInfo,
    Mount,
    NetworkInfo,
    Route,
    VolumeInfo,
)
from topology.inventory import polling, queries, services
from topology.inventory.models import Daemon, Endpoint, Network, Status, Volume
from topology.inventory.services import Place

ENGINE = "PRETEND:ENGINE"
FRONT = NetworkInfo("f" * 64, "front", "bridge", "local", subnets=("10.1.0.0/24",))
BRIDGE = NetworkInfo("b" * 64, "bridge", "bridge", "local", subnets=("172.17.0.0/16",))


def attached(network: NetworkInfo, ip: str) -> Attachment:
    return Attachment(network.id, network.name, ipv4=ip, aliases=())


def data(destination: str = "/data", rw: bool = True) -> Mount:
    return Mount("volume", "/var/lib/docker/volumes/data/_data", destination, rw, "data", "local")


def says(*containers: Any, networks: tuple = (BRIDGE, FRONT), volumes: tuple = ()) -> Any:
    snapshot = DaemonSnapshot(
        Route(url="unix:///nonexistent/pretend.sock"),
        EngineInfo(ENGINE, "pretend", "27.0.0", "1.47", "Debian GNU/Linux 12"),
        tuple(containers),
        networks,
        volumes,
    )
    return services.reconcile(snapshot, Place(host_name="pretend-host"))


def web(ip: str = "10.1.0.2", **fields: Any) -> Any:
    return container_info("1", "web", attachments=(attached(FRONT, ip),), **fields)


def edge_ids(changes: Any) -> set[str]:
    return {edge["id"] for edge in changes.delta.upsert_edges}


def test_networks_arrive_once_and_a_repeat_writes_nothing(db) -> None:
    first = says(web())
    nodes = {node["id"]: node for node in first.delta.upsert_nodes}
    front = nodes[f"network:{ENGINE}/{'f' * 64}"]
    assert (front["parent"], front["subnets"], front["builtin"]) == (
        f"daemon:{ENGINE}",
        ["10.1.0.0/24"],
        False,
    )
    assert nodes[f"network:{ENGINE}/{'b' * 64}"]["builtin"] is True
    assert edge_ids(first) == {f"network:{'1' * 64}->network:{ENGINE}/{'f' * 64}"}
    with CaptureQueriesContext(connection) as seen:
        again = says(web())
    assert not again
    writes = [q for q in seen.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE")]
    assert writes == []
    validate_graph(queries.current_graph())


def test_an_address_change_moves_only_that_edge_and_a_gone_network_goes(db) -> None:
    says(web())
    moved = says(web("10.1.0.9"))
    [edge] = moved.delta.upsert_edges
    assert edge["ipv4"] == "10.1.0.9" and not moved.delta.remove_edges
    gone = says(container_info("1", "web"), networks=(BRIDGE,))
    assert f"network:{ENGINE}/{'f' * 64}" in gone.delta.remove_nodes
    assert f"network:{'1' * 64}->network:{ENGINE}/{'f' * 64}" in gone.delta.remove_edges
    assert list(Network.objects.values_list("name", flat=True)) == ["bridge"]


def test_a_volume_shows_while_two_containers_share_it(db) -> None:
    volume = VolumeInfo("data", "local", labels={"tier": "db"})
    one = container_info("1", "web", mounts=(data(),))
    says(one, volumes=(volume,))
    two = says(one, container_info("2", "db", mounts=(data("/srv", rw=False),)), volumes=(volume,))
    [node] = [n for n in two.delta.upsert_nodes if n["kind"] == "volume"]
    assert (node["id"], node["labels"], node["users"]) == (
        f"volume:{ENGINE}/data",
        {"tier": "db"},
        2,
    )
    mounts = {e["source"][-1]: e for e in two.delta.upsert_edges if e["kind"] == "mount"}
    assert mounts["2"]["read_only"] is True and mounts["1"]["destination"] == "/data"
    validate_graph(queries.current_graph())
    back = says(one, volumes=(volume,))
    assert f"volume:{ENGINE}/data" in back.delta.remove_nodes
    assert f"mount:{'1' * 64}->volume:{ENGINE}/data" in back.delta.remove_edges
    assert Volume.objects.get().labels == {"tier": "db"}


def test_a_shared_network_stack_is_a_netns_edge(db) -> None:
    vpn = container_info("2", "vpn", attachments=(attached(FRONT, "10.1.0.3"),))
    app = container_info("3", "app", network_mode=f"container:{'2' * 64}")
    changes = says(vpn, app)
    assert f"netns:{'3' * 64}->container:{'2' * 64}" in edge_ids(changes)
    later = says(vpn)
    assert f"netns:{'3' * 64}->container:{'2' * 64}" in later.delta.remove_edges


def test_an_unreachable_daemon_marks_its_networks_stale_then_they_go(db) -> None:
    says(web())
    route = Route(url="unix:///nonexistent/pretend.sock")
    lost = services.mark_unreachable(route, Place(host_name="pretend-host"), "no answer")
    stale = {n["id"]: n["status"] for n in lost.delta.upsert_nodes if n["kind"] == "network"}
    assert set(stale.values()) == {"stale"} and len(stale) == 2
    daemon = Daemon.objects.get(engine_id=ENGINE)
    daemon.unreachable_since -= timedelta(hours=1)
    daemon.save()
    pruned = services.prune_stale(grace=timedelta(minutes=5))
    assert set(stale) <= set(pruned.delta.remove_nodes)
    assert not Network.objects.exists()
    back = says(web())
    assert {n["status"] for n in back.delta.upsert_nodes if n["kind"] == "network"} == {"up"}


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_connecting_and_disconnecting_a_container_are_deltas(
    network_world: NetworkWorld, docker_client: Any
) -> None:
    world = network_world
    polling.poll_everything(publish=False)
    target = polling.Target(Route(url="unix:///var/run/docker.sock"))
    engine = docker_client.info()["ID"]
    edge_id = f"network:{world.db.id}->network:{engine}/{world.front.id}"
    world.front.connect(world.db, aliases=["database"])
    try:
        joined = polling.poll_target(target, publish=False).changes
        [edge] = [e for e in joined.delta.upsert_edges if e["id"] == edge_id]
        assert edge["aliases"] == ["database"] and edge["ipv4"]
        [node] = [n for n in joined.delta.upsert_nodes if n["id"] == f"container:{world.db.id}"]
        assert world.front.name in node["networks"]
        assert joined.message()["since"] < joined.message()["version"]
        validate_graph(queries.current_graph())
    finally:
        world.front.disconnect(world.db)
    left = polling.poll_target(target, publish=False).changes
    assert edge_id in left.delta.remove_edges
    assert edge_id not in {e["id"] for e in queries.current_graph()["edges"]}
    # And then quiet again, as far as db goes (the engine is shared: others' containers come
    # and go).
    again = polling.poll_target(target, publish=False).changes
    touched = [e["id"] for e in again.delta.upsert_edges] + again.delta.remove_edges
    assert not [i for i in touched if world.db.id in i]
    assert f"container:{world.db.id}" not in {n["id"] for n in again.delta.upsert_nodes}


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_network_listing_of_the_wrong_shape_marks_only_that_daemon_unreachable(
    tmp_path: Path, docker_client: Any, network_world: NetworkWorld
) -> None:
    """A FAKE engine (a real one cannot be made to say this) whose listing is not a list of
    objects: that daemon turns unreachable with the reason, everything else is polled."""
    with FakeEngine(tmp_path / "fake.sock", networks=[]) as fake:
        Endpoint.objects.create(name="fake", url=fake.url)
        polling.poll_everything(publish=False)
        assert Daemon.objects.get(engine_id="FAKE:ENGINE").status == Status.UP
        fake.networks = {"Networks": "not a list"}
        results = polling.poll_everything(publish=False)
    broken = Daemon.objects.get(engine_id="FAKE:ENGINE")
    assert broken.status == Status.UNREACHABLE
    assert "the network listing is not a list of objects" in broken.last_error
    host = Daemon.objects.get(engine_id=docker_client.info()["ID"])
    assert host.status == Status.UP
    assert Network.objects.filter(daemon=host, network_id=network_world.front.id).exists()
    assert [r.error for r in results if r.engine_id == host.engine_id] == [None]
    validate_graph(queries.current_graph())


def test_discovery_switched_off_reads_no_network(db, settings) -> None:
    settings.TOPOLOGY_DISCOVER_NETWORKS = False
    says(web(), networks=None)
    current = queries.current_graph()
    assert not [n for n in current["nodes"] if n["kind"] == "network"]
    assert not [e for e in current["edges"] if e["kind"] == "network"]
