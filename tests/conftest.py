"""Shared fixtures: users and clients, a real Docker engine, a real Redis, clean-up by label."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

MANAGED = {"topology.managed": "true"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user("viewer", password="a-long-test-password-1")


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_superuser("boss", password="a-long-test-password-2")


@pytest.fixture
def logged_in_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=settings.DOCKER_HOST, version="auto", timeout=60)
    yield client
    client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen]]:
    """A throw-away redis-server on a free loopback port: ``(url, process)``."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="topology-redis-")
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TOPOLOGY_OFFLINE", "1")


class Cleanup:
    """Undo actions, run last-in first-out; one failing does not stop the others."""

    def __init__(self) -> None:
        self._actions: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add(self, action: Callable[..., Any], *args: Any) -> None:
        self._actions.append((action, args))

    def run(self) -> None:
        errors: list[str] = []
        while self._actions:
            action, args = self._actions.pop()
            try:
                action(*args)
            except docker.errors.NotFound:
                pass
            except Exception as error:
                errors.append(f"{getattr(action, '__name__', action)}{args}: {error!r}")
        assert not errors, "cleanup failed:\n" + "\n".join(errors)


@pytest.fixture
def cleanup() -> Iterator[Cleanup]:
    undo = Cleanup()
    try:
        yield undo
    finally:
        undo.run()


@pytest.fixture(scope="session")
def offline_images(docker_client: docker.DockerClient) -> list[str]:
    from topology.engine import images

    images.build_offline_images(docker_client)
    return [images.WORKLOAD_IMAGE, images.CLI_IMAGE, images.DIND_IMAGE]


def unique(prefix: str) -> str:
    return f"topology-test-{prefix}-{uuid.uuid4().hex[:8]}"


def run_workload(client: docker.DockerClient, cleanup: Cleanup, name: str, **options: Any) -> Any:
    from topology.engine.images import IDLE_COMMAND, WORKLOAD_IMAGE

    labels = {**MANAGED, **options.pop("labels", {})}
    container = client.containers.run(
        WORKLOAD_IMAGE, IDLE_COMMAND, name=name, labels=labels, detach=True, **options
    )
    cleanup.add(_remove, container)
    return container


def _remove(container: Any) -> None:
    """Remove a container; one whose (nested) daemon is already gone went with it."""
    with contextlib.suppress(requests.exceptions.ConnectionError):
        container.remove(force=True, v=True)


@dataclass
class Dind:
    container: Any
    client: docker.DockerClient
    socket_dir: str
    volume: str


def start_dind(client: docker.DockerClient, cleanup: Cleanup, name: str) -> Dind:
    """A DinD container on ``client``'s engine, its socket in a host folder, cache in a volume."""
    from topology.engine import images

    socket_dir = tempfile.mkdtemp(prefix="topology-test-sock-")
    cleanup.add(shutil.rmtree, socket_dir, True)
    volume = client.volumes.create(name=f"{name}-data", labels=MANAGED)
    cleanup.add(volume.remove, True)
    container, _profile = images.run_dind(
        client, name=name, labels=MANAGED, socket_dir=socket_dir, volume=volume.name
    )
    cleanup.add(images.remove_nested_cgroups, images.nested_cgroup_parent(container))
    cleanup.add(_remove, container)
    nested = images.wait_for_daemon(f"{socket_dir}/docker.sock", 60, container=container)
    cleanup.add(nested.close)
    images.seed_image(client, nested, images.WORKLOAD_IMAGE)
    return Dind(container, nested, socket_dir, volume.name)


@dataclass
class World:
    """The seed's picture on the real engine: C1, C2; a DinD with C3, C4; a DooD; DinD in DinD."""

    c1: Any
    c2: Any
    dind: Dind
    c3: Any
    c4: Any
    dood: Any
    inner_dind: Any


@pytest.fixture(scope="session")
def world(docker_client: docker.DockerClient, offline_images: list[str]) -> Iterator[World]:
    from topology.engine import images

    undo = Cleanup()
    try:
        c1 = run_workload(docker_client, undo, unique("c1"))
        c2 = run_workload(docker_client, undo, unique("c2"))
        dind = start_dind(docker_client, undo, unique("dind"))
        c3 = run_workload(dind.client, undo, "c3")
        c4 = run_workload(dind.client, undo, "c4")
        dood = docker_client.containers.run(
            images.CLI_IMAGE,
            images.IDLE_COMMAND,
            name=unique("dood"),
            labels=MANAGED,
            detach=True,
            volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}},
        )
        undo.add(_remove, dood)
        images.seed_image(docker_client, dind.client, images.DIND_IMAGE)
        inner, _profile = images.run_dind(
            dind.client,
            name="inner-dind",
            labels=MANAGED,
            socket_dir="/tmp/inner-dind-run",
            volume=None,
        )
        undo.add(_remove, inner)
        _wait_for_exec_daemon(dind.container, "/tmp/inner-dind-run/docker.sock")
        yield World(c1, c2, dind, c3, c4, dood, inner)
    finally:
        undo.run()


def _wait_for_exec_daemon(container: Any, socket: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = container.exec_run(["docker", "-H", f"unix://{socket}", "version"])
        if result.exit_code == 0:
            return
        time.sleep(0.5)
    raise TimeoutError(f"no daemon answered at {socket} inside {container.name}")
