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


def test_only_a_container_that_could_run_dockerd_has_its_processes_read(
    world, docker_client, offline_images, cleanup
) -> None:
    """A plain container cannot run dockerd (no privileges, no CAP_SYS_ADMIN, no Sysbox): its
    inspect is one request, no ``/top``. The DinD (the compatible profile keeps SYS_ADMIN) is
    still seen running dockerd, and so is one given only SYS_ADMIN."""
    plain = run_workload(docker_client, cleanup, unique("plain"))
    admin = run_workload(docker_client, cleanup, unique("sys-admin"), cap_add=["SYS_ADMIN"])
    reader = open_reader(Route("unix:///var/run/docker.sock"))
    asked: list[str] = []
    real_top = reader.runs_dockerd
    reader.runs_dockerd = lambda ident: asked.append(ident) or real_top(ident)  # type: ignore[method-assign]
    try:
        seen = reader.inspect(plain.id)
        assert seen is not None and seen.nesting_capable is False and seen.runs_dockerd is False
        assert reader.inspect(admin.id).nesting_capable is True
        dind = reader.inspect(world.dind.container.id)
        assert dind.nesting_capable is True and dind.runs_dockerd is True
    finally:
        reader.close()
    assert asked == [admin.id, world.dind.container.id]


@pytest.mark.parametrize(
    ("host_config", "capable"),
    [
        ({"Privileged": True}, True),
        ({"CapAdd": ["ALL"], "CapDrop": ["MKNOD"]}, True),
        ({"CapAdd": ["CAP_SYS_ADMIN"]}, True),
        ({"CapAdd": ["ALL"], "CapDrop": ["SYS_ADMIN"]}, False),
        ({"CapAdd": ["NET_ADMIN"]}, False),
        ({"Runtime": "sysbox-runc"}, True),
        ({"Runtime": "runc", "CapAdd": None}, False),
    ],
)
def test_what_a_dockerd_needs_is_read_from_the_host_config(
    host_config: dict, capable: bool
) -> None:
    from topology.engine.reading import container_from_inspect

    data = {
        "Id": "a" * 64,
        "Name": "/x",
        "Image": "sha256:" + "b" * 64,
        "Created": "2026-12-01T00:00:00Z",
        "State": {"Status": "running", "StartedAt": "2026-12-01T00:00:01Z"},
        "Config": {"Image": "example/app:1", "Labels": {}},
        "HostConfig": host_config,
        "NetworkSettings": {"Ports": {}, "Networks": {}},
    }
    assert container_from_inspect(data).nesting_capable is capable


def test_capabilities_that_are_no_list_are_a_malformed_answer() -> None:
    from topology.engine.errors import MalformedAnswer
    from topology.engine.reading import container_from_inspect

    data = {
        "Id": "a" * 64,
        "Name": "/x",
        "Image": "",
        "State": {"Status": "running"},
        "Config": {"Image": "example/app:1"},
        "HostConfig": {"CapAdd": "ALL"},
        "NetworkSettings": {},
    }
    with pytest.raises(MalformedAnswer):
        container_from_inspect(data)
