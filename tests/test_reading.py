"""Reading real daemons through the API and through docker exec."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import MANAGED, run_workload, unique
from topology.engine.reading import open_reader
from topology.engine.types import Route

pytestmark = pytest.mark.docker


def test_exec_reader_sees_what_the_api_sees(world, docker_client) -> None:
    api = open_reader(Route(f"unix://{world.dind.socket_dir}/docker.sock"))
    via_exec = open_reader(
        Route(f"exec://{world.dind.container.id}", via=Route("unix:///var/run/docker.sock"))
    )
    try:
        assert api.info().engine_id == via_exec.info().engine_id
        listed = {c.id: c for c in api.list_containers()}
        inspected = {c.id: c for c in via_exec.list_containers()}
        assert set(listed) == set(inspected) >= {world.c3.id, world.c4.id}
        for key, container in listed.items():
            other = inspected[key]
            assert (container.name, container.state, container.labels) == (
                other.name,
                other.state,
                other.labels,
            )
            assert container.mounts == other.mounts and container.created == other.created
        assert via_exec.runs_dockerd(world.inner_dind.id) is True
        assert via_exec.runs_dockerd(world.c3.id) is False
    finally:
        api.close()
        via_exec.close()


def test_inspect_never_reads_the_environment(docker_client, offline_images, cleanup) -> None:
    secret = run_workload(
        docker_client, cleanup, unique("env"), environment={"DB_PASSWORD": "hunter2"}
    )
    reader = open_reader(Route("unix:///var/run/docker.sock"))
    try:
        info = reader.inspect(secret.id)
    finally:
        reader.close()
    assert info is not None and info.labels.items() >= MANAGED.items()
    assert "hunter2" not in repr(dataclasses.asdict(info))
    assert info.runs_dockerd is False and info.privileged is False


def test_dind_is_seen_running_dockerd(world) -> None:
    reader = open_reader(Route("unix:///var/run/docker.sock"))
    try:
        assert reader.inspect(world.dind.container.id).runs_dockerd is True
        assert reader.inspect("0" * 64) is None
    finally:
        reader.close()
