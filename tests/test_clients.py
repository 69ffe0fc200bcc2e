"""Client edges: DOCKER_HOST read on the server and resolved to a known daemon; the CI case on
the real engine (a job container next to a dind service with network alias docker)."""

from __future__ import annotations

import json
import random

import docker
import pytest

from tests.conftest import MANAGED, _remove, start_dind, unique
from tests.graph_schema import validate_graph
from topology.engine.clients import Candidate, Client, client_address, resolve
from topology.engine.images import IDLE_COMMAND, WORKLOAD_IMAGE
from topology.engine.types import ClientAddress
from topology.inventory import polling, queries
from topology.inventory.models import Container


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (["DOCKER_HOST=tcp://docker:2375"], ("docker", 2375)),
        (["PATH=/bin", "DOCKER_HOST=tcp://Docker:2376", "SECRET=x"], ("docker", 2376)),
        (["DOCKER_HOST=tcp://10.0.0.7"], ("10.0.0.7", 2375)),
        (["DOCKER_HOST=tcp://dind", "DOCKER_TLS_VERIFY=1"], ("dind", 2376)),
        (["DOCKER_HOST=unix:///var/run/docker.sock"], None),
        (["DOCKER_HOST=tcp://bad host:2375"], None),
        (["DOCKER_HOST=tcp://docker:99999"], None),
        (["OTHER=tcp://docker:2375"], None),
        ("DOCKER_HOST=tcp://docker:2375", None),
        ([42, None, "DOCKER_HOST="], None),
    ],
)
def test_only_docker_host_is_read_into_a_typed_address(env, expected) -> None:
    address = client_address(env)
    assert (address and (address.host, address.port)) == (expected or None)
    assert "docker" not in repr(address) and "10.0" not in repr(address)


DIND = Candidate(
    "NESTED:ID",
    {"ci": frozenset({"dind-service", "docker"})},
    frozenset({"172.20.0.2"}),
    {23750: 2375},
)
OTHER = Candidate("OTHER:ID", {"ci2": frozenset({"docker"})}, frozenset({"172.21.0.2"}))
REMOTE = Candidate("REMOTE:ID", endpoint="tcp://10.1.2.3:2376")


@pytest.mark.parametrize(
    ("host", "port", "client", "expected"),
    [
        ("docker", 2375, Client(frozenset({"ci"})), "NESTED:ID"),
        ("docker", 2375, Client(frozenset({"ci2"})), "OTHER:ID"),
        ("docker", 2375, Client(frozenset({"ci", "ci2"})), None),  # two answer: no guess
        ("docker", 2375, Client(frozenset({"bridge"})), None),  # no names on the bridge
        ("172.20.0.2", 2375, Client(frozenset({"bridge"})), "NESTED:ID"),
        ("host.docker.internal", 23750, Client(frozenset({"bridge"})), "NESTED:ID"),
        ("localhost", 23750, Client(frozenset(), "host"), "NESTED:ID"),
        ("localhost", 23750, Client(frozenset({"bridge"})), None),
        ("10.1.2.3", 2376, Client(frozenset({"bridge"})), "REMOTE:ID"),
        ("elsewhere.example", 2375, Client(frozenset({"ci"})), None),
    ],
)
def test_an_address_resolves_to_the_daemon_the_container_would_reach(
    host, port, client, expected
) -> None:
    assert resolve(ClientAddress(host, port), client, [DIND, OTHER, REMOTE]) == expected


def _network_clear_of_nested_bridges(client: docker.DockerClient, name: str):  # type: ignore[no-untyped-def]
    """A user network in 10.x, away from 172.17-31 where the host's next network and a nested
    daemon's own bridge are both placed (the same subnet on both sides cannot be connected);
    another subnet is tried when one is taken on the shared engine."""
    for _ in range(20):
        subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
        try:
            return client.networks.create(name, labels=MANAGED, ipam=ipam)
        except docker.errors.APIError as error:
            if "overlap" not in str(error).lower():
                raise
    pytest.fail("no free 10.x subnet for the CI network")


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_ci_job_next_to_a_dind_service_is_its_client(docker_client, offline_images, cleanup):
    """A GitLab-CI-like job: on a user network with DOCKER_HOST=tcp://docker:2375, next to a
    dind service whose network alias is docker. The job need not reach it, only say so."""
    network = _network_clear_of_nested_bridges(docker_client, unique("ci"))
    cleanup.add(network.remove)
    service = start_dind(docker_client, cleanup, unique("dind-service"))
    network.connect(service.container, aliases=["docker"])
    cleanup.add(network.disconnect, service.container, True)
    job = docker_client.containers.create(
        WORKLOAD_IMAGE,
        IDLE_COMMAND,
        name=unique("ci-job"),
        labels=MANAGED,
        environment={"DOCKER_HOST": "tcp://docker:2375", "CI_JOB_TOKEN": "never-shown"},
        network=network.name,
    )
    cleanup.add(_remove, job)
    nested_engine = service.client.info()["ID"]
    for _ in range(2):  # the first pass finds the nested daemon; the next resolves the job
        polling.poll_everything(publish=False)
    graph = queries.current_graph()
    validate_graph(graph)
    clients = [e for e in graph["edges"] if e["kind"] == "client"]
    assert {
        "id": f"client:{job.id}->{nested_engine}",
        "kind": "client",
        "source": f"container:{job.id}",
        "target": f"daemon:{nested_engine}",
    } in clients
    assert [e for e in clients if e["source"] == f"container:{job.id}"] == [
        e for e in clients if e["id"] == f"client:{job.id}->{nested_engine}"
    ]
    text = json.dumps(graph)
    assert "tcp://docker:2375" not in text and "never-shown" not in text
    row = Container.objects.get(container_id=job.id)
    stored = json.dumps(
        {f.name: str(getattr(row, f.attname)) for f in Container._meta.concrete_fields}
    )
    assert "tcp://docker" not in stored and "never-shown" not in stored
    assert row.sets_docker_host and row.client_target.engine_id == nested_engine
