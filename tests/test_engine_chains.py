"""Commands in containers of nested daemons: the chain of ``docker exec`` that reaches them."""

from __future__ import annotations

import pytest

from topology.engine.chains import cli_path, exec_path, open_exec
from topology.engine.connection import EngineError
from topology.engine.types import Route

HOST = Route("unix:///var/run/docker.sock")


def test_a_container_of_a_reachable_daemon_needs_no_chain() -> None:
    assert exec_path(HOST, "c" * 64) == exec_path(HOST, "c" * 64, ("-it",))
    assert exec_path(HOST, "c" * 64).command_prefix == ()
    assert cli_path(HOST) is None


def test_each_level_of_nesting_adds_one_docker_exec() -> None:
    level1 = Route("exec://" + "a" * 64, via=HOST)
    level2 = Route("exec://" + "b" * 64, via=level1)
    path = exec_path(level2, "c" * 64, ("-it",))
    assert path.api_route == HOST and path.container_id == "a" * 64
    assert path.command_prefix == (
        "docker",
        "exec",
        "-it",
        "b" * 64,
        "docker",
        "exec",
        "-it",
        "c" * 64,
    )
    cli = cli_path(level2)
    assert cli is not None and cli.container_id == "a" * 64
    assert cli.command_prefix == ("docker", "exec", "b" * 64)


def test_an_exec_route_without_its_daemon_is_refused() -> None:
    with pytest.raises(EngineError):
        exec_path(Route("exec://" + "a" * 64), "c" * 64)


@pytest.mark.docker
def test_a_command_runs_in_a_nested_container(world) -> None:
    nested = Route(f"exec://{world.dind.container.id}", via=HOST)
    stream = open_exec(nested, world.c3.id, ["sh", "-c", "echo from-$(hostname); echo oops >&2"])
    try:
        frames = list(stream.frames())
    finally:
        stream.close()
    out = b"".join(data for kind, data in frames if kind == 1)
    err = b"".join(data for kind, data in frames if kind == 2)
    assert out.decode().strip() == f"from-{world.c3.id[:12]}" and err.strip() == b"oops"
