"""Docker-in-Docker against the real engine: the two profiles, a nested daemon that is an
engine of its own, nested containers that live inside it and not on the host, and a DinD
inside a DinD.

Everything created here carries ``topology.managed=true`` and is removed at teardown,
failed test or not: containers, volumes, host socket directories and the cgroups the
nested daemons leave in the host hierarchy. No database, no registry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest
from docker.models.containers import Container

from tests.conftest import Cleanup, remove_dind
from topology.engine.dind import (
    PROFILE_COMPATIBLE,
    PROFILE_PRIVILEGED,
    describe_command,
    dind_run_options,
    nested_cgroup_parent,
    run_dind,
    unavailable_capabilities,
    wait_for_daemon,
)
from topology.engine.images import (
    DIND_IMAGE,
    MANAGED_LABEL,
    MANAGED_LABELS,
    WORKLOAD_IMAGE,
    seed_image,
)

TEST_LABELS = {**MANAGED_LABELS, "topology.test": "engine-dind"}
TIMINGS: dict[str, float] = {}


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _remove_container(container: Container) -> None:
    container.remove(force=True, v=True)


@pytest.fixture(scope="module")
def host(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    yield docker_client
    if TIMINGS:
        print("\ntimings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in TIMINGS.items()))


@pytest.fixture(scope="module")
def module_cleanup() -> Iterator[Cleanup]:
    cleanup = Cleanup()
    yield cleanup
    cleanup.run()


@dataclass
class Dind:
    container: Container
    profile: str
    socket_dir: str
    client: docker.DockerClient


def _start_dind(
    engine: docker.DockerClient,
    cleanup: Cleanup,
    *,
    name: str,
    socket_dir: str,
    host_socket_dir: str,
) -> Dind:
    """Volume + DinD container on ``engine``; the socket is read at ``host_socket_dir``."""
    volume = engine.volumes.create(name=f"{name}-data", labels=TEST_LABELS)
    cleanup.add(volume.remove, True)
    start = time.monotonic()
    container, profile = run_dind(
        engine, name=name, labels=TEST_LABELS, socket_dir=socket_dir, volume=volume.name
    )
    cleanup.add(remove_dind, container)
    client = wait_for_daemon(
        os.path.join(host_socket_dir, "docker.sock"), timeout=90, container=container
    )
    cleanup.add(client.close)
    TIMINGS[f"{name.rsplit('-', 1)[0]}_start_to_ping"] = time.monotonic() - start
    return Dind(container, profile, host_socket_dir, client)


@pytest.fixture(scope="module")
def dind(host: docker.DockerClient, offline_images: list[str], module_cleanup: Cleanup) -> Dind:
    socket_dir = tempfile.mkdtemp(prefix="topology-dind-")
    module_cleanup.add(shutil.rmtree, socket_dir, True)
    return _start_dind(
        host,
        module_cleanup,
        name=f"topology-test-dind-{_suffix()}",
        socket_dir=socket_dir,
        host_socket_dir=socket_dir,
    )


def test_unavailable_capabilities_reads_the_bounding_set(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t000001fffeffffff\n")  # all but bit 24
    assert unavailable_capabilities(str(status)) == ["SYS_RESOURCE"]
    status.write_text("CapBnd:\t000001ffffffffff\n")
    assert unavailable_capabilities(str(status)) == []


def test_compatible_profile_options():
    options = dind_run_options(False, socket_dir="/tmp/s", volume="v", cap_drop=["SYS_RESOURCE"])
    assert options["cap_add"] == ["ALL"] and options["cap_drop"] == ["SYS_RESOURCE"]
    assert "seccomp=unconfined" in options["security_opt"]
    assert options["device_cgroup_rules"] == ["a *:* rwm"]
    assert options["volumes"]["/tmp/s"]["bind"] == "/var/run"
    assert options["volumes"]["v"]["bind"] == "/var/lib/docker"
    assert options["volumes"]["/sys/fs/cgroup"]["mode"] == "rw"
    assert "privileged" not in options
    assert dind_run_options(True)["privileged"] is True


@pytest.mark.docker
def test_dind_nested_daemon_is_a_separate_engine(host: docker.DockerClient, dind: Dind):
    print(f"\nDinD profile: {dind.profile}")
    options = dind_run_options(dind.profile == PROFILE_PRIVILEGED)
    print(describe_command(options))
    assert dind.profile in (PROFILE_PRIVILEGED, PROFILE_COMPATIBLE)
    nested_info = dind.client.info()
    host_info = host.info()
    assert nested_info["ID"] != host_info["ID"]
    assert nested_info["Driver"] == "overlay2"  # /var/lib/docker is a volume
    assert nested_info["CgroupDriver"] == "cgroupfs"
    print(f"nested engine {nested_info['ID']} driver={nested_info['Driver']}")
    dind.container.reload()
    assert dind.container.status == "running"
    assert dind.container.labels[MANAGED_LABEL] == "true"


@pytest.mark.docker
def test_nested_containers_run_inside_not_on_host(
    host: docker.DockerClient, dind: Dind, cleanup: Cleanup
):
    start = time.monotonic()
    seed_image(host, dind.client, WORKLOAD_IMAGE)
    TIMINGS["seed_workload"] = time.monotonic() - start
    suffix = _suffix()
    nested: list[Container] = []
    for name in (f"c3-{suffix}", f"c4-{suffix}"):
        container = dind.client.containers.run(
            WORKLOAD_IMAGE, name=name, detach=True, labels=TEST_LABELS
        )
        cleanup.add(_remove_container, container)
        nested.append(container)
    time.sleep(0.5)
    running = {c.id for c in dind.client.containers.list(filters={"label": MANAGED_LABEL})}
    host_ids = {c.id for c in host.containers.list(all=True)}
    host_names = {c.name for c in host.containers.list(all=True)}
    for container in nested:
        container.reload()
        assert container.status == "running"
        assert container.id in running
        assert container.id not in host_ids
        assert container.name not in host_names
        cgroups = container.exec_run(["cat", "/proc/self/cgroup"]).output.decode()
        assert nested_cgroup_parent(dind.container) in cgroups


@pytest.mark.docker
def test_dind_inside_dind(host: docker.DockerClient, dind: Dind, cleanup: Cleanup):
    """Nesting level 2: a DinD container run by the nested daemon.

    Its socket directory is a path inside the level-1 container below ``/var/run``, which
    is the host's level-1 socket directory, so the level-2 socket is reachable from here.
    """
    start = time.monotonic()
    seed_image(host, dind.client, DIND_IMAGE)
    TIMINGS["seed_dind_into_level1"] = time.monotonic() - start
    seed_image(host, dind.client, WORKLOAD_IMAGE)
    name = f"topology-test-dind2-{_suffix()}"
    level2 = _start_dind(
        dind.client,
        cleanup,
        name=name,
        socket_dir=f"/var/run/{name}",
        host_socket_dir=os.path.join(dind.socket_dir, name),
    )
    print(f"\nlevel-2 DinD profile: {level2.profile}")
    seed_image(dind.client, level2.client, WORKLOAD_IMAGE)
    c5 = level2.client.containers.run(
        WORKLOAD_IMAGE, name=f"c5-{_suffix()}", detach=True, labels=TEST_LABELS
    )
    cleanup.add(_remove_container, c5)
    time.sleep(0.5)
    c5.reload()
    assert c5.status == "running"
    engines = {host.info()["ID"], dind.client.info()["ID"], level2.client.info()["ID"]}
    assert len(engines) == 3
    assert level2.client.info()["Driver"] == "overlay2"
    assert c5.id not in {c.id for c in dind.client.containers.list(all=True)}
    assert c5.id not in {c.id for c in host.containers.list(all=True)}
    assert level2.container.id in {c.id for c in dind.client.containers.list()}
