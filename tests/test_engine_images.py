"""Offline images against the real engine: built from this machine's binaries, labelled,
idempotent; the workload idles and stops at once, the CLI image sees the host's containers.

Everything created here carries ``topology.managed=true`` and is removed at teardown, failed
test or not. No database, no registry.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from tests.conftest import Cleanup
from topology.engine import images
from topology.engine.images import (
    CLI_IMAGE,
    DIND_IMAGE,
    MANAGED_LABEL,
    MANAGED_LABELS,
    WORKLOAD_IMAGE,
    MissingBinaryError,
    build_offline_images,
)

TEST_LABELS = {**MANAGED_LABELS, "topology.test": "engine-images"}
TIMINGS: dict[str, float] = {}


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _remove_container(container: Container) -> None:
    container.remove(force=True, v=True)


def _host_socket_path() -> str | None:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return host.removeprefix("unix://") if host.startswith("unix://") else None


@pytest.fixture(scope="module")
def host(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    yield docker_client
    if TIMINGS:
        print("\ntimings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in TIMINGS.items()))


@pytest.fixture(scope="module")
def built(host: docker.DockerClient) -> list[str]:
    start = time.monotonic()
    tags = build_offline_images(host)
    TIMINGS["build_images" if tags else "build_images(skipped, present)"] = time.monotonic() - start
    return tags


def test_missing_binary_names_the_apt_package(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name, path=None: None)
    with pytest.raises(MissingBinaryError, match=r"apt-get install containerd"):
        images._find_program(images._Program("containerd", "containerd"))


def test_shared_libraries_include_the_elf_interpreter():
    libraries = [str(path) for path in images.shared_libraries(Path(sys.executable).resolve())]
    if not libraries:
        pytest.skip("static python")
    assert any("ld-linux" in path or "ld-musl" in path for path in libraries)
    assert all(path.startswith("/") for path in libraries)


@pytest.mark.docker
def test_images_are_imported_with_label_and_config(host: docker.DockerClient, built: list[str]):
    for tag in (WORKLOAD_IMAGE, CLI_IMAGE, DIND_IMAGE):
        image = host.images.get(tag)
        assert MANAGED_LABEL not in image.labels
        assert image.labels.get(images.VERSION_LABEL) == images.IMAGE_VERSION
        config = image.attrs["Config"]
        assert any(entry.startswith("PATH=/usr/local/sbin:") for entry in config["Env"])
    assert host.images.get(DIND_IMAGE).attrs["Config"]["Entrypoint"] == [
        "/usr/local/bin/dind-entrypoint"
    ]
    assert build_offline_images(host) == []  # idempotent: everything exists now


@pytest.mark.docker
def test_workload_idles_and_stops_on_sigterm(
    host: docker.DockerClient, built: list[str], cleanup: Cleanup
):
    container = host.containers.run(
        WORKLOAD_IMAGE, name=f"topology-test-idle-{_suffix()}", detach=True, labels=TEST_LABELS
    )
    cleanup.add(_remove_container, container)
    time.sleep(0.5)
    container.reload()
    assert container.status == "running"
    assert container.exec_run(["sh", "-c", "echo $((6 * 7))"]).output.strip() == b"42"
    start = time.monotonic()
    container.stop(timeout=10)
    assert time.monotonic() - start < 5


@pytest.mark.docker
def test_docker_cli_image_sees_host_containers(
    host: docker.DockerClient, built: list[str], cleanup: Cleanup
):
    socket = _host_socket_path()
    if socket is None:
        pytest.skip("DOCKER_HOST is not a unix socket")
    marker = host.containers.run(
        WORKLOAD_IMAGE, name=f"topology-test-c1-{_suffix()}", detach=True, labels=TEST_LABELS
    )
    cleanup.add(_remove_container, marker)
    cli = host.containers.create(
        CLI_IMAGE,
        ["docker", "ps", "--all", "--no-trunc", "--format", "{{.ID}} {{.Names}}"],
        name=f"topology-test-dood-{_suffix()}",
        labels=TEST_LABELS,
        volumes={socket: {"bind": "/var/run/docker.sock", "mode": "rw"}},
    )
    cleanup.add(_remove_container, cli)
    cli.start()
    assert cli.wait(timeout=60)["StatusCode"] == 0, cli.logs().decode()
    listing = cli.logs(stdout=True, stderr=False).decode()
    assert f"{marker.id} {marker.name}" in listing
    # It sees itself too (the same engine); --all, as it may not be marked running yet.
    assert cli.name in listing
