"""A container's log output, line by line: the last lines, then (following) what comes.

Through the API for a daemon we reach (``GET /containers/<id>/logs`` with timestamps), and
through ``docker logs`` inside the container that holds a daemon read by exec (nested ones, at
any depth: see ``chains``). A stream ends when the container's output does (not following, or
the container stopped) or when ``close`` is called from any thread. Log text is what a
container wrote: untrusted, kept as text (never markup), each line cut short.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import shlex
import socket as pysocket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker.errors
import urllib3.exceptions

from topology.engine.chains import ExecStream, Opener, cli_path, open_exec, raw_socket
from topology.engine.connection import EngineError, as_engine_error
from topology.engine.reading import ApiReader, open_reader
from topology.engine.types import Route

MAX_LINE_CHARS = 4000
MAX_PENDING_BYTES = 64 * 1024  # a line longer than this is cut where it stands
MAX_TAIL = 5000
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_HEX = re.compile(r"^[0-9a-f]{12,64}$")
STREAMS = {1: "stdout", 2: "stderr"}
# What reading a stream can raise when the engine, or our own ``close``, cuts it: a cut
# between chunks comes up as urllib3's ProtocolError (over http.client's IncompleteRead).
_BROKEN = (
    OSError,
    ValueError,
    AttributeError,
    http.client.HTTPException,
    urllib3.exceptions.HTTPError,
    docker.errors.DockerException,
)


@dataclass(frozen=True)
class LogLine:
    """One line: ``at`` is the engine's RFC 3339 time ("" if it gave none), ``stream`` is
    ``stdout`` or ``stderr``."""

    at: str
    stream: str
    text: str


def split_stamp(text: str) -> tuple[str, str]:
    """``"<RFC 3339> text"`` as (time, text); ("", text) when it does not start with a time."""
    head, _, rest = text.partition(" ")
    return (head, rest) if _STAMP.match(head) else ("", text)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 1] + "…"


class _Lines:
    """Bytes of each stream in, whole lines out."""

    def __init__(self) -> None:
        self.pending: dict[str, bytes] = {}

    def feed(self, stream: str, data: bytes) -> Iterator[LogLine]:
        buffer = self.pending.get(stream, b"") + data
        *whole, rest = buffer.split(b"\n")
        if len(rest) > MAX_PENDING_BYTES:
            whole.append(rest)
            rest = b""
        self.pending[stream] = rest
        for raw in whole:
            yield self._line(stream, raw)

    def flush(self) -> Iterator[LogLine]:
        for stream, rest in self.pending.items():
            if rest:
                yield self._line(stream, rest)
        self.pending = {}

    @staticmethod
    def _line(stream: str, raw: bytes) -> LogLine:
        at, text = split_stamp(raw.decode("utf-8", errors="replace").rstrip("\r"))
        return LogLine(at, stream, _clip(text))


class LogSource:
    """The lines of one container's logs; ``close`` (from any thread) ends ``lines``."""

    def __init__(self, chunks: Iterator[tuple[str, bytes]], closer: Any) -> None:
        self._chunks = chunks
        self._closer = closer
        self.closed = False

    def lines(self) -> Iterator[LogLine]:
        assembler = _Lines()
        try:
            for stream, data in self._chunks:
                yield from assembler.feed(stream, data)
        except _BROKEN as error:
            if not self.closed:
                raise EngineError(f"the log stream broke: {error}") from error
        yield from assembler.flush()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._closer()


def open_logs(
    route: Route,
    container_id: str,
    *,
    tail: int = 100,
    follow: bool = True,
    since: str | None = None,
    opener: Opener = open_reader,
) -> LogSource:
    """The logs of ``container_id`` on the daemon at ``route``: the last ``tail`` lines (at
    most ``MAX_TAIL``), then, with ``follow``, what it writes next. ``since`` is a Unix time
    (seconds, fractions allowed) to start from instead."""
    if not _HEX.match(container_id):
        raise EngineError("a container is named by its hex id")
    tail = max(0, min(int(tail), MAX_TAIL))
    if since is not None and not re.match(r"^\d{1,12}(\.\d{1,9})?$", since):
        raise EngineError("since is a Unix time")
    path = cli_path(route)
    if path is None:
        return _api_logs(route, container_id, tail, follow, since, opener)
    return _cli_logs(route, container_id, tail, follow, since, opener)


def _api_logs(
    route: Route, container_id: str, tail: int, follow: bool, since: str | None, opener: Opener
) -> LogSource:
    reader = opener(route)
    if not isinstance(reader, ApiReader):
        reader.close()
        raise EngineError(f"{route.url}: no API to read logs through")
    api = reader.client.api
    params: dict[str, Any] = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1,
        "follow": int(follow),
        "tail": tail,
    }
    if since is not None:
        params["since"] = since
    try:
        tty = bool((api.inspect_container(container_id).get("Config") or {}).get("Tty"))
        url = api._url("/containers/{0}/logs", container_id)
        response = api._get(url, params=params, stream=True)
        api._raise_for_status(response)
        sock = raw_socket(api._get_raw_response_socket(response))
    except docker.errors.NotFound as error:
        reader.close()
        raise EngineError(f"container {container_id[:12]} is gone") from error
    except Exception as error:
        reader.close()
        raise as_engine_error(route.url, error) from error
    with contextlib.suppress(OSError, AttributeError):
        sock.settimeout(None)  # a quiet container is not a failure

    def chunks() -> Iterator[tuple[str, bytes]]:
        raw = response.raw
        while True:
            if tty:
                data = raw.read1(16384)
                if not data:
                    return
                yield "stdout", data
                continue
            header = raw.read(8)
            if len(header) < 8:
                return
            kind, length = struct.unpack(">BxxxL", header)
            data = raw.read(length) if length else b""
            if length and not data:
                return
            yield STREAMS.get(kind, "stdout"), data

    def close() -> None:
        with contextlib.suppress(OSError, AttributeError):
            sock.shutdown(pysocket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            response.close()
        reader.close()

    return LogSource(chunks(), close)


def _cli_logs(
    route: Route, container_id: str, tail: int, follow: bool, since: str | None, opener: Opener
) -> LogSource:
    """``docker logs`` inside the container that holds the daemon. Its stdin stays open while
    we read: when we close, ``cat`` ends and takes ``docker logs`` with it (a quiet container
    would otherwise keep a follower alive in there)."""
    words = ["docker", "logs", "--timestamps", "--tail", str(tail)]
    if follow:
        words.append("--follow")
    if since is not None:
        words += ["--since", since]
    words.append(container_id)
    # A background job's stdin is /dev/null: ours is kept on descriptor 3 for ``cat``.
    script = (
        f"exec 3<&0; {shlex.join(words)} & p=$!; "
        "(cat <&3 >/dev/null 2>&1; kill $p 2>/dev/null) >/dev/null 2>&1 & "
        "wait $p"
    )
    assert route.via is not None  # cli_path said so
    holder = route.url.removeprefix("exec://")
    command = ["sh", "-c", script]
    stream: ExecStream = open_exec(route.via, holder, command, stdin=True, opener=opener)

    def chunks() -> Iterator[tuple[str, bytes]]:
        for kind, data in stream.frames():
            yield STREAMS.get(kind, "stdout"), data

    return LogSource(chunks(), stream.close)
