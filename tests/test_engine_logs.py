"""Logs line by line: the last lines, then following; stdout and stderr apart, with the
engine's times; a tty container; a nested container through ``docker logs`` inside its DinD;
and a follower inside the DinD that goes away when we stop reading."""

from __future__ import annotations

import threading
import time
from http.client import IncompleteRead

import pytest
import urllib3.exceptions

from tests.conftest import MANAGED, _remove, unique
from topology.engine.connection import EngineError
from topology.engine.images import WORKLOAD_IMAGE
from topology.engine.logs import (
    MAX_LINE_CHARS,
    LogLine,
    LogSource,
    _Lines,
    open_logs,
    split_stamp,
)
from topology.engine.types import Route

HOST = Route("unix:///var/run/docker.sock")
CHATTY = [
    "sh",
    "-c",
    "i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.2; done",
]


def test_lines_are_assembled_per_stream_and_cut_short() -> None:
    lines = _Lines()
    assert list(lines.feed("stdout", b"2026-01-01T00:00:00.5Z hel")) == []
    assert list(lines.feed("stderr", b"no stamp\n")) == [LogLine("", "stderr", "no stamp")]
    (line,) = lines.feed("stdout", b"lo\r\n")
    assert line == LogLine("2026-01-01T00:00:00.5Z", "stdout", "hello")
    (long,) = lines.feed("stdout", b"x" * 70_000 + b"\n")
    assert len(long.text) == MAX_LINE_CHARS
    (broken,) = lines.feed("stdout", b"\xff\xfe broken utf-8\n")
    assert broken.text.endswith("broken utf-8")


def test_a_stamp_must_look_like_one() -> None:
    assert split_stamp("2026-01-01T00:00:00Z ok") == ("2026-01-01T00:00:00Z", "ok")
    assert split_stamp("<script> x") == ("", "<script> x")


def _cut(source_closed: list[LogSource]):  # type: ignore[no-untyped-def]
    yield "stdout", b"first\n"
    source_closed[0].close()
    raise urllib3.exceptions.ProtocolError("Connection broken", IncompleteRead(b""))


def test_a_stream_we_closed_ends_quietly_even_when_cut_between_chunks() -> None:
    holder: list[LogSource] = []
    source = LogSource(_cut(holder), closer=lambda: None)
    holder.append(source)
    assert [line.text for line in source.lines()] == ["first"]


def test_a_stream_the_engine_cut_is_an_engine_error() -> None:
    def cut():  # type: ignore[no-untyped-def]
        yield "stdout", b"first\n"
        raise urllib3.exceptions.ProtocolError("Connection broken", IncompleteRead(b""))

    lines = LogSource(cut(), closer=lambda: None).lines()
    assert next(lines).text == "first"
    with pytest.raises(EngineError, match="broke"):
        next(lines)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(EngineError):
        open_logs(HOST, "../../etc", tail=1)
    with pytest.raises(EngineError):
        open_logs(HOST, "a" * 64, since="now; rm -rf /")


def _run(client, cleanup, name, command, **options):  # type: ignore[no-untyped-def]
    container = client.containers.run(
        WORKLOAD_IMAGE, command, name=name, labels=MANAGED, detach=True, **options
    )
    cleanup.add(_remove, container)
    return container


def _follow_for(source, seconds: float) -> list[LogLine]:  # type: ignore[no-untyped-def]
    timer = threading.Timer(seconds, source.close)
    timer.start()
    try:
        return list(source.lines())
    finally:
        timer.cancel()
        source.close()


@pytest.mark.docker
def test_tail_then_follow_on_the_host(docker_client, offline_images, cleanup) -> None:
    container = _run(docker_client, cleanup, unique("chatty"), CHATTY)
    time.sleep(1.5)
    started = time.monotonic()
    lines = _follow_for(open_logs(HOST, container.id, tail=4, follow=True), 2.0)
    assert time.monotonic() - started < 10
    streams = {line.stream for line in lines}
    assert streams == {"stdout", "stderr"}
    numbers = sorted({int(line.text.split()[1]) for line in lines if line.stream == "stdout"})
    assert len(numbers) >= 6  # more than the tail: it followed
    assert all(line.at.startswith("20") for line in lines)


@pytest.mark.docker
def test_not_following_ends_by_itself(docker_client, offline_images, cleanup) -> None:
    container = _run(docker_client, cleanup, unique("once"), ["sh", "-c", "echo one; echo two"])
    container.wait(timeout=30)
    lines = list(open_logs(HOST, container.id, tail=100, follow=False).lines())
    assert [line.text for line in lines] == ["one", "two"]


@pytest.mark.docker
def test_a_tty_container_is_all_stdout(docker_client, offline_images, cleanup) -> None:
    container = _run(docker_client, cleanup, unique("tty"), CHATTY, tty=True)
    time.sleep(1)
    lines = _follow_for(open_logs(HOST, container.id, tail=10, follow=True), 1.0)
    assert lines and {line.stream for line in lines} == {"stdout"}
    assert {"out", "err"} <= {line.text.split()[0] for line in lines}


@pytest.mark.docker
def test_a_nested_container_through_its_dind(world, cleanup) -> None:
    inner = _run(world.dind.client, cleanup, unique("nested-chatty"), CHATTY)
    nested = Route(f"exec://{world.dind.container.id}", via=HOST)
    time.sleep(1.5)
    lines = _follow_for(open_logs(nested, inner.id, tail=3, follow=True), 2.5)
    assert {line.stream for line in lines} == {"stdout", "stderr"}
    assert len([line for line in lines if line.stream == "stdout"]) >= 6
    assert all(line.at for line in lines)

    def followers() -> int:
        result = world.dind.container.exec_run(["sh", "-c", "ps -o args | grep -c '^docker logs'"])
        return int(result.output.decode().strip() or 0)

    deadline = time.monotonic() + 10
    while followers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert followers() == 0, "docker logs --follow is still running inside the DinD"


@pytest.mark.docker
def test_a_gone_container_is_an_engine_error(docker_client) -> None:
    with pytest.raises(EngineError):
        open_logs(HOST, "0" * 64)
