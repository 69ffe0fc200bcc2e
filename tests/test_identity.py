"""Engine identity: Docker's own ID, Podman's from its store, else the route; real Podman."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import MANAGED, _remove, unique
from tests.graph_schema import validate_graph
from topology.engine import identity
from topology.engine.images import IDLE_COMMAND, WORKLOAD_IMAGE
from topology.engine.reading import engine_info
from topology.inventory import polling, queries
from topology.inventory.models import Daemon, Endpoint
from topology.inventory.services import Place
from topology.teams.models import Membership, Team

DOCKER_VERSION = {"Components": [{"Name": "Engine", "Version": "27.3.1"}], "Version": "27.3.1"}
PODMAN_VERSION = {"Components": [{"Name": "Podman Engine", "Version": "4.3.1"}], "Version": "4.3.1"}
LIBPOD = {
    "host": {"hostname": "vm"},
    "store": {"graphRoot": "/var/lib/containers/storage", "runRoot": "/run/containers/storage"},
}


def test_docker_is_known_by_its_own_id() -> None:
    info = engine_info(
        "unix:///d", {"ID": "ABCD:EFGH", "ServerVersion": "27.3.1"}, "1.47", DOCKER_VERSION
    )
    assert (info.engine_id, info.engine, info.identity, info.version) == (
        "ABCD:EFGH",
        "docker",
        "engine-id",
        "27.3.1",
    )


def test_podman_is_known_by_its_store_whatever_id_it_answers() -> None:
    ids = {
        engine_info(
            "unix:///p",
            {"ID": f"random-{n}", "BuildahVersion": "1.28"},
            "1.41",
            PODMAN_VERSION,
            LIBPOD,
        ).engine_id
        for n in range(5)
    }
    assert len(ids) == 1 and ids.pop().startswith("podman-")
    elsewhere = identity.podman_store_identity({**LIBPOD, "host": {"hostname": "other"}})
    assert elsewhere != identity.podman_store_identity(LIBPOD)
    # Reached another way (another socket of the same store): the same engine.
    assert identity.identify("unix:///other", {}, PODMAN_VERSION, LIBPOD) == identity.identify(
        "unix:///p", {}, PODMAN_VERSION, LIBPOD
    )


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"ID": ""},
        {"ID": "a->b"},
        {"ID": "has space"},
        {"ID": "../../etc"},
    ],
)
def test_an_unusable_id_gives_the_route_identity(answer) -> None:
    info = engine_info("tcp://10.0.0.5:2376", answer, "1.47", {"Components": "nonsense"})
    assert info.identity == "route" and info.engine_id == identity.route_identity(
        "tcp://10.0.0.5:2376"
    )


@pytest.mark.parametrize("libpod", [None, "nonsense", {"host": []}, {"host": {"hostname": 7}}])
def test_podman_without_store_facts_is_known_by_its_route(libpod) -> None:
    info = engine_info("unix:///p", {"ID": "random"}, "1.41", PODMAN_VERSION, libpod)
    assert (info.engine, info.identity) == ("podman", "route")


@pytest.mark.parametrize(
    "answer",
    [
        ["not", "an", "object"],
        {"ID": 42},
        {"ID": "x" * 500},
        {"ID": "OK:ID", "Name": ["x"]},
        {"ID": "OK:ID", "OperatingSystem": {}},
    ],
)
def test_an_answer_of_the_wrong_shape_is_a_malformed_answer(answer) -> None:
    """A field of the wrong type or size is nonsense, not a missing ID: the daemon is marked
    unreachable with the reason (tests/faults/test_engine_faults.py), never guessed at."""
    from topology.engine.errors import MalformedAnswer

    with pytest.raises(MalformedAnswer):
        engine_info("unix:///x", answer, "1.41")


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_podman_engine_polled_many_times_is_one_daemon(podman_engine, cleanup) -> None:
    """Containers are created, not started: Podman cannot start them on this VM."""
    client = podman_engine.client
    socket_path = podman_engine.url.removeprefix("unix://")
    plain = client.containers.create(
        WORKLOAD_IMAGE, IDLE_COMMAND, name=unique("pm-plain"), labels=MANAGED
    )
    cleanup.add(_remove, plain)
    dood = client.containers.create(
        WORKLOAD_IMAGE,
        IDLE_COMMAND,
        name=unique("pm-dood"),
        labels=MANAGED,
        volumes={socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"}},
    )
    cleanup.add(_remove, dood)
    first = Endpoint.objects.create(name="podman", url=podman_engine.url)
    second = Endpoint.objects.create(name="podman-again", url=podman_engine.second_url)
    for _ in range(4):  # the second way in is the same engine: never a second daemon
        for endpoint in (first, second):
            target = polling.Target(endpoint.route, Place(host_name="podman-host"), endpoint.pk)
            result = polling.poll_target(target, publish=False)
            if endpoint is first:
                assert result.error is None, result.error
            else:
                assert result.skipped and "already known elsewhere" in result.error

    daemons = list(Daemon.objects.filter(engine="podman"))
    assert len(daemons) == 1
    daemon = daemons[0]
    assert daemon.identity == "store" and daemon.version.startswith("4.")
    graph = queries.current_graph()
    validate_graph(graph)
    daemon_id = f"daemon:{daemon.engine_id}"
    nodes = [n for n in graph["nodes"] if n["id"] == daemon_id]
    assert len(nodes) == 1 and nodes[0]["engine"] == "podman"
    children = [
        n["id"] for n in graph["nodes"] if n["parent"] == daemon_id and n["kind"] == "container"
    ]
    assert sorted(children) == sorted([f"container:{plain.id}", f"container:{dood.id}"])
    assert {n["state"] for n in graph["nodes"] if n["id"] in children} == {"created"}
    sockets = [e for e in graph["edges"] if e["kind"] == "socket" and e["source"].endswith(dood.id)]
    assert sockets == [
        {
            "id": f"socket:{dood.id}->{daemon.engine_id}",
            "kind": "socket",
            "source": f"container:{dood.id}",
            "target": daemon_id,
        }
    ]
    dood_node = next(n for n in graph["nodes"] if n["id"] == f"container:{dood.id}")
    assert dood_node["role"] == "dood"
    assert "ID" not in json.dumps(nodes[0])  # no random compat ID anywhere in the node


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_rootless_podman_socket_is_a_site_admins_to_register(podman_engine, admin_user) -> None:
    """Podman's socket where rootless Podman puts it, ``$XDG_RUNTIME_DIR/podman/podman.sock``:
    a team admin is refused (a local socket), a site admin registers it, and it polls as one
    Podman daemon of that team."""
    team = Team.objects.create(slug="ops", name="Ops")
    body = {"name": "rootless-podman", "url": podman_engine.url, "team": "ops"}
    assert podman_engine.url.endswith("/xdg-runtime/podman/podman.sock")
    team_admin = Client()
    alice = get_user_model().objects.create_user("alice")
    Membership.objects.create(team=team, user=alice, role="admin")
    team_admin.force_login(alice)
    refused = team_admin.post("/api/daemons/", body, content_type="application/json")
    assert refused.status_code == 403 and "only a site admin" in refused.json()["detail"]
    site = Client()
    site.force_login(admin_user)
    response = site.post("/api/daemons/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    endpoint = Endpoint.objects.get(name="rootless-podman")
    target = polling.Target(endpoint.route, Place(), endpoint.pk)
    result = polling.poll_target(target, publish=False)
    assert result.error is None, result.error
    daemon = Daemon.objects.get(endpoint=podman_engine.url)
    assert (daemon.engine, daemon.identity, daemon.host.team) == ("podman", "store", team)
