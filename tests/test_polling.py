"""Discovery against the real engine: nesting, DooD, DinD in DinD, faults, writes, locks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import Cleanup, run_workload, start_dind, unique
from tests.graph_schema import validate_graph
from topology.engine.reading import open_reader
from topology.engine.types import Route
from topology.inventory import polling, queries
from topology.inventory.models import Container, Daemon, Status
from topology.inventory.services import Place

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def _nodes(graph: dict) -> dict[str, dict]:
    return {node["id"]: node for node in graph["nodes"]}


def _host_engine(docker_client) -> str:
    return docker_client.info()["ID"]


def test_discovers_the_seed_picture(world, docker_client) -> None:
    polling.poll_everything(publish=False)
    graph = queries.current_graph()
    validate_graph(graph)
    nodes = _nodes(graph)
    host_daemon = f"daemon:{_host_engine(docker_client)}"
    nested_engine = world.dind.client.info()["ID"]
    nested_daemon = f"daemon:{nested_engine}"

    for c in (world.c1, world.c2):
        node = nodes[f"container:{c.id}"]
        assert node["parent"] == host_daemon and node["role"] == "plain"
    dind_node = nodes[f"container:{world.dind.container.id}"]
    assert dind_node["role"] == "dind" and dind_node["parent"] == host_daemon
    assert nodes[nested_daemon]["parent"] == f"container:{world.dind.container.id}"
    assert nodes[nested_daemon]["nesting"] == 1
    assert nodes[nested_daemon]["endpoint"] == f"unix://{world.dind.socket_dir}/docker.sock"
    for c in (world.c3, world.c4):
        assert nodes[f"container:{c.id}"]["parent"] == nested_daemon
    assert nodes[host_daemon]["parent"].startswith("host:")

    dood = nodes[f"container:{world.dood.id}"]
    assert dood["role"] == "dood" and dood["parent"] == host_daemon
    assert {
        "id": f"socket:{world.dood.id}->{_host_engine(docker_client)}",
        "kind": "socket",
        "source": f"container:{world.dood.id}",
        "target": host_daemon,
    } in graph["edges"]

    inner = nodes[f"container:{world.inner_dind.id}"]
    assert inner["role"] == "dind" and inner["parent"] == nested_daemon
    deepest = [n for n in graph["nodes"] if n["parent"] == f"container:{world.inner_dind.id}"]
    assert len(deepest) == 1 and deepest[0]["kind"] == "daemon"
    assert deepest[0]["nesting"] == 2 and deepest[0]["access"] == "exec"
    assert deepest[0]["reachable"] is True
    for node in graph["nodes"]:
        assert "env" not in node and "Env" not in node


def test_privileged_flag_matches_the_engine(world, docker_client) -> None:
    polling.poll_everything(publish=False)
    nodes = _nodes(queries.current_graph())
    for container in (world.c1, world.dood, world.dind.container):
        container.reload()
        expected = container.attrs["HostConfig"]["Privileged"]
        assert nodes[f"container:{container.id}"]["privileged"] is expected


def test_second_poll_without_change_writes_nothing(world) -> None:
    """The engine is shared: another checkout's container may come or go between two polls, so
    a quiet pair of polls is asked for up to three times (one is enough)."""
    polling.poll_everything(publish=False)
    for _attempt in range(3):
        with CaptureQueriesContext(connection) as queries_seen:
            results = polling.poll_everything(publish=False)
        writes = [
            q["sql"]
            for q in queries_seen.captured_queries
            if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        ]
        if not writes:
            break
    assert writes == []
    assert all(not r.changes for r in results)


def test_two_concurrent_polls_give_one_result(world, docker_client) -> None:
    polling.poll_everything(publish=False)
    target = polling.Target(
        Route(url=f"unix://{world.dind.socket_dir}/docker.sock"),
        Place(parent_engine_id=_host_engine(docker_client), container_hex=world.dind.container.id),
    )
    Container.objects.filter(daemon__engine_id=world.dind.client.info()["ID"]).delete()
    results: list[polling.PollResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def poll() -> None:
        barrier.wait()
        try:
            results.append(polling.poll_target(target, publish=False))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.changes.added for r in results) == 3  # c3, c4 and inner-dind, once
    engine = world.dind.client.info()["ID"]
    ids = list(Container.objects.filter(daemon__engine_id=engine).values_list("container_id"))
    assert len(ids) == len(set(ids)) == 3


def test_container_removed_mid_poll_is_gone_not_an_error(docker_client, offline_images) -> None:
    undo = Cleanup()
    try:
        doomed = run_workload(docker_client, undo, unique("doomed"))
        reader = open_reader(Route(url="unix:///var/run/docker.sock"))
        listed = reader.list_containers()
        assert doomed.id in {c.id for c in listed}
        doomed.remove(force=True)
        complete = polling._complete(reader, listed, reader.info().engine_id)
        reader.close()
        assert doomed.id not in {c.id for c in complete}
    finally:
        undo.run()


def test_stopped_dind_turns_unreachable_and_its_containers_stale(
    docker_client, offline_images
) -> None:
    undo = Cleanup()
    try:
        dind = start_dind(docker_client, undo, unique("dind-stop"))
        run_workload(dind.client, undo, "c3")
        nested_engine = dind.client.info()["ID"]
        polling.poll_everything(publish=False)
        assert Daemon.objects.get(engine_id=nested_engine).status == Status.UP

        dind.container.stop(timeout=5)
        results = polling.poll_everything(publish=False)
        nested = Daemon.objects.get(engine_id=nested_engine)
        assert nested.status == Status.UNREACHABLE and nested.last_error
        assert all(c.stale for c in Container.objects.filter(daemon=nested))
        assert Container.objects.get(container_id=dind.container.id).state == "exited"
        assert any(r.error for r in results)
        graph = queries.current_graph()
        validate_graph(graph)
        node = _nodes(graph)[f"daemon:{nested_engine}"]
        assert node["status"] == "unreachable" and node["reachable"] is False

        from datetime import timedelta

        from topology.inventory import services

        services.prune_stale(grace=timedelta(0))
        assert not Container.objects.filter(daemon=nested).exists()
    finally:
        undo.run()


def test_removed_dind_takes_its_nested_daemon_with_it(docker_client, offline_images) -> None:
    undo = Cleanup()
    try:
        dind = start_dind(docker_client, undo, unique("dind-gone"))
        nested_engine = dind.client.info()["ID"]
        polling.poll_everything(publish=False)
        assert Daemon.objects.filter(engine_id=nested_engine).exists()
        dind.container.remove(force=True, v=True)
        results = polling.poll_everything(publish=False)
        assert not Daemon.objects.filter(engine_id=nested_engine).exists()
        removed = [n for r in results for n in r.changes.delta.remove_nodes]
        assert f"daemon:{nested_engine}" in removed
        assert f"container:{dind.container.id}" in removed
    finally:
        undo.run()


def test_unreachable_root_engine_is_a_per_daemon_error(db, tmp_path, settings) -> None:
    settings.DOCKER_HOST = f"unix://{tmp_path}/missing.sock"
    results = polling.poll_everything(publish=False)
    assert len(results) == 1 and "no answer" in results[0].error


def test_task_arguments_carry_no_private_key_and_get_it_back() -> None:
    """Poll tasks wait in Redis: the keys stay in the database and are read back there."""
    from topology.inventory.models import Endpoint

    endpoint = Endpoint.objects.create(
        name="lab",
        url="ssh://ops@lab.example:2222",
        ssh_private_key="PRIVATE",
        ssh_known_hosts="[lab.example]:2222 ssh-ed25519 AAAA",
    )
    nested = Route("exec://abc", via=endpoint.route)
    target = polling.Target(nested, endpoint_pk=endpoint.pk)
    message = target.to_dict()
    assert "PRIVATE" not in repr(message)
    assert "ssh-ed25519" in repr(message)
    assert polling.Target.from_dict(message).route == nested


# --- Health -------------------------------------------------------------------------------------

FAILING_HEALTHCHECK = {
    "test": ["CMD-SHELL", "echo probe says no; exit 1"],
    "interval": 300_000_000,
    "retries": 1,
}


def _wait_until(check, timeout: float = 30):  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("never happened")


def _unhealthy_node(container_id: str) -> dict | None:
    polling.poll_everything(publish=False)
    node = _nodes(queries.current_graph()).get(f"container:{container_id}")
    return node if node and node.get("health") == "unhealthy" else None


def test_a_failing_healthcheck_reaches_the_graph(
    world, docker_client, cleanup, monkeypatch
) -> None:
    from topology.inventory import services

    sick = run_workload(docker_client, cleanup, unique("sick"), healthcheck=FAILING_HEALTHCHECK)
    nested = run_workload(
        world.dind.client, cleanup, unique("nested-sick"), healthcheck=FAILING_HEALTHCHECK
    )
    node = _wait_until(lambda: _unhealthy_node(sick.id))
    nested_node = _wait_until(lambda: _unhealthy_node(nested.id))
    for found in (node, nested_node):
        assert found["health_streak"] >= 1
        assert {probe["output"] for probe in found["health_probes"]} == {"probe says no"}
        assert all(probe["exit_code"] == 1 for probe in found["health_probes"])
    graph = queries.current_graph()
    validate_graph(graph)
    healthy = _nodes(graph)[f"container:{world.c1.id}"]
    assert healthy["health"] == "none" and "health_probes" not in healthy

    # Unchanged health within the refresh: a poll reads no probe and writes nothing of it.
    polling.poll_everything(publish=False)
    with CaptureQueriesContext(connection) as seen:
        polling.poll_everything(publish=False)
    rewritten = [
        q["sql"]
        for q in seen.captured_queries
        if q["sql"].startswith("UPDATE") and sick.id in q["sql"]
    ]
    assert rewritten == []
    # Past the refresh, the probes are read again: the failing streak has grown.
    before = Container.objects.get(container_id=sick.id).health_log["failing_streak"]
    monkeypatch.setattr(services, "HEALTH_REFRESH", services.timedelta(0))
    import time

    time.sleep(1)
    polling.poll_everything(publish=False)
    assert Container.objects.get(container_id=sick.id).health_log["failing_streak"] > before


def test_a_host_container_with_a_nested_daemons_socket_drives_it(
    docker_client, offline_images, cleanup
) -> None:
    """The DinD's /var/run is a host folder; a host container that bind-mounts the socket in
    it drives the nested daemon (the path the project reaches it by): one socket edge."""
    dind = start_dind(docker_client, cleanup, unique("sock-dind"))
    driver = run_workload(
        docker_client,
        cleanup,
        unique("sock-driver"),
        volumes={f"{dind.socket_dir}/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}},
    )
    nested = dind.client.info()["ID"]
    for _ in range(2):  # the first pass finds the nested daemon, the next the socket's owner
        polling.poll_everything(publish=False)
    graph = queries.current_graph()
    validate_graph(graph)
    edges = [e for e in graph["edges"] if e["source"] == f"container:{driver.id}"]
    sockets = [e for e in edges if e["kind"] == "socket"]
    assert sockets == [
        {
            "id": f"socket:{driver.id}->{nested}",
            "kind": "socket",
            "source": f"container:{driver.id}",
            "target": f"daemon:{nested}",
        }
    ]
    assert _nodes(graph)[f"container:{driver.id}"]["role"] == "dood"


@pytest.mark.django_db
def test_a_registered_socket_of_a_known_daemon_never_moves_it(tmp_path, settings) -> None:
    """Another team's DinD daemon is registered by its socket (as if the registration check had
    been passed by a race): the poll leaves the daemon in its container, on Beta's side."""
    from tests.fake_engine import FakeEngine
    from tests.test_services import info_of, snapshot
    from topology.engine.types import DaemonSnapshot, EngineInfo
    from topology.inventory import services
    from topology.inventory.models import Endpoint, Host
    from topology.teams.models import Team

    settings.DOCKER_HOST = f"unix://{tmp_path}/no-local-engine.sock"
    alpha = Team.objects.create(slug="alpha", name="Alpha")
    beta = Team.objects.create(slug="beta", name="Beta")
    services.reconcile(snapshot(info_of("d", runs_dockerd=True)), Place())
    Host.objects.update(team=beta)
    with FakeEngine(tmp_path / "nested.sock", engine_id="BETA:NESTED") as fake:
        services.reconcile(
            DaemonSnapshot(
                Route(fake.url), EngineInfo("BETA:NESTED", "dind", "27", "1.47", "x"), ()
            ),
            Place(parent_engine_id="HOST:ID", container_hex="d" * 64),
        )
        endpoint = Endpoint.objects.create(name="grab", url=fake.url, team=alpha)
        result = polling.poll_target(
            polling.Target(endpoint.route, Place(), endpoint_pk=endpoint.pk), publish=False
        )
    assert result.skipped and "already known elsewhere" in result.error
    nested = Daemon.objects.get(engine_id="BETA:NESTED")
    assert nested.container.container_id == "d" * 64 and nested.host is None
    assert nested.registered_endpoint is None
    assert not Host.objects.filter(team=alpha).exists()


def test_a_label_never_makes_the_poller_connect_anywhere(docker_client, cleanup, tmp_path) -> None:
    """Anyone who can start a container on a monitored engine can label it: DinD-looking
    containers labelled with a plain tcp:// address and with a socket of the server (each a
    FAKE engine counting what it is asked) are never connected to, and no fake engine joins
    the map; the project's own signed label on its DinD demos is covered in test_demos_api."""
    from tests.fake_engine import FakeEngine
    from topology.engine.images import WORKLOAD_IMAGE

    image = f"topology-test/not-really:dind-{unique('tag')[-8:]}"
    docker_client.images.get(WORKLOAD_IMAGE).tag(image)
    cleanup.add(docker_client.images.remove, image)
    with (
        FakeEngine(tmp_path / "unused", engine_id="FAKE:TCP", tcp=True) as over_tcp,
        FakeEngine(tmp_path / "fake.sock", engine_id="FAKE:UNIX") as on_a_socket,
    ):
        for fake in (over_tcp, on_a_socket):
            labels = {
                "topology.endpoint": fake.url,
                "topology.endpoint-signature": "0" * 64,
            }
            run_workload(docker_client, cleanup, unique("labelled"), image=image, labels=labels)
        polling.poll_everything(publish=False)
        assert not over_tcp.requests and not on_a_socket.requests
    assert not Daemon.objects.filter(engine_id__startswith="FAKE:").exists()
