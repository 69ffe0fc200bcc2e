"""A shell on a terminal: on the host, and in a nested container through its DinD."""

from __future__ import annotations

import time

import pytest

from tests.conftest import run_workload, unique
from topology.engine.terminal import clamp_size, open_terminal
from topology.engine.types import Route

HOST = Route("unix:///var/run/docker.sock")
pytestmark = pytest.mark.docker


def _read_until(stream, needle: bytes, timeout: float = 15) -> bytes:  # type: ignore[no-untyped-def]
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        chunk = stream.recv(4096)
        if not chunk:
            break
        seen += chunk
    return seen


def test_sizes_are_clamped() -> None:
    assert clamp_size(0, 99999) == (2, 1000)


def test_a_shell_on_the_host(docker_client, offline_images, cleanup) -> None:
    container = run_workload(docker_client, cleanup, unique("shell"))
    stream = open_terminal(HOST, container.id, rows=30, cols=100)
    try:
        stream.send(b"stty size; echo done-$((6*7))\n")
        seen = _read_until(stream, b"done-42")
        assert b"30 100" in seen and b"done-42" in seen
        stream.send(b"exit 3\n")
        assert _read_until(stream, b"never") is not None
        time.sleep(0.3)
        assert stream.exit_code() == 3
    finally:
        stream.close()


def test_a_shell_in_a_nested_container(world) -> None:
    nested = Route(f"exec://{world.dind.container.id}", via=HOST)
    stream = open_terminal(nested, world.c3.id)
    try:
        stream.send(b"echo nested-$(hostname)\n")
        seen = _read_until(stream, f"nested-{world.c3.id[:12]}".encode())
        assert f"nested-{world.c3.id[:12]}".encode() in seen
        stream.resize(40, 120)
        stream.send(b"stty size\n")
        assert b"40 120" in _read_until(stream, b"40 120")
    finally:
        stream.close()
