"""Running a command in a container of any daemon, nested ones included, as a live stream.

A daemon read through ``docker exec`` (``exec://<container>`` routes) has no API of its own to
us: a command for one of its containers runs as ``docker exec <container> <command>`` inside the
container that holds that daemon, and so on up to a daemon whose API we reach. ``exec_path``
works out that chain; ``open_exec`` starts the outermost exec through the API and hands back its
socket, which carries the innermost command's input and output.
"""

from __future__ import annotations

import contextlib
import socket as pysocket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import docker.errors
from docker.utils.socket import frames_iter

from topology.engine.connection import EngineError, as_engine_error
from topology.engine.reading import ApiReader, open_reader
from topology.engine.types import Route

Opener = Callable[[Route], Any]


@dataclass(frozen=True)
class ExecPath:
    """Where a command really runs: ``command_prefix + command`` in ``container_id`` of the
    daemon at ``api_route`` (a route with an API, never an exec route)."""

    api_route: Route
    container_id: str
    command_prefix: tuple[str, ...]


def exec_path(route: Route, container_id: str, flags: tuple[str, ...] = ()) -> ExecPath:
    """How to run a command in ``container_id`` of the daemon at ``route``; ``flags`` go to each
    ``docker exec`` on the way (``-it`` for a terminal)."""
    if not route.is_exec:
        return ExecPath(route, container_id, ())
    if route.via is None:
        raise EngineError(f"{route.url}: an exec route needs the route of its daemon")
    holder = route.url.removeprefix("exec://")
    outer = exec_path(route.via, holder, flags)
    step = ("docker", "exec", *flags, container_id)
    return ExecPath(outer.api_route, outer.container_id, outer.command_prefix + step)


def cli_path(route: Route) -> ExecPath | None:
    """How to run the docker CLI against the daemon at ``route``, for a daemon read by exec
    (``command_prefix + ["docker", ...]``); None for a daemon whose API we reach."""
    if not route.is_exec:
        return None
    if route.via is None:
        raise EngineError(f"{route.url}: an exec route needs the route of its daemon")
    return exec_path(route.via, route.url.removeprefix("exec://"))


def raw_socket(sock: Any) -> Any:
    """The socket under what the Docker SDK hands back (a ``SocketIO`` for unix sockets)."""
    return sock._sock if isinstance(sock, pysocket.SocketIO) else sock


class ExecStream:
    """A running exec: its socket, and the client that started it (closed with it)."""

    def __init__(self, reader: ApiReader, exec_id: str, sock: Any, tty: bool) -> None:
        self.reader = reader
        self.exec_id = exec_id
        self.sock = sock
        self.raw = raw_socket(sock)
        self.tty = tty
        self.closed = False
        with contextlib.suppress(OSError, AttributeError):
            self.raw.settimeout(None)  # a quiet command is not a failure

    def recv(self, size: int = 16384) -> bytes:
        """Up to ``size`` bytes (a tty's output), b"" at the end."""
        try:
            return self.raw.recv(size)
        except OSError:
            if self.closed:
                return b""
            raise

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """``(stream, data)`` chunks of a non-tty exec: 1 is stdout, 2 stderr."""
        try:
            yield from frames_iter(self.sock, self.tty)
        except OSError:
            if not self.closed:
                raise

    def send(self, data: bytes) -> None:
        self.raw.sendall(data)

    def resize(self, rows: int, cols: int) -> None:
        try:
            self.reader.client.api.exec_resize(self.exec_id, height=rows, width=cols)
        except Exception as error:
            raise as_engine_error(self.reader.route.url, error) from error

    def exit_code(self) -> int | None:
        try:
            return self.reader.client.api.exec_inspect(self.exec_id).get("ExitCode")
        except Exception:
            return None

    def close(self) -> None:
        """Stop reading and writing (a blocked ``recv`` in another thread returns)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.raw.shutdown(pysocket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.reader.close()


def open_exec(
    route: Route,
    container_id: str,
    command: list[str],
    *,
    tty: bool = False,
    stdin: bool = False,
    environment: dict[str, str] | None = None,
    opener: Opener = open_reader,
) -> ExecStream:
    """Start ``command`` in ``container_id`` of the daemon at ``route`` (nested or not) and
    return its stream. With ``tty`` every ``docker exec`` on the way gets a terminal."""
    flags: tuple[str, ...] = ("-it",) if tty else ("-i",) if stdin else ()
    if environment and route.is_exec:
        flags += tuple(f"--env={key}={value}" for key, value in environment.items())
    path = exec_path(route, container_id, flags)
    reader = opener(path.api_route)
    if not isinstance(reader, ApiReader):
        reader.close()
        raise EngineError(f"{path.api_route.url}: no API to start a command through")
    api = reader.client.api
    try:
        created = api.exec_create(
            path.container_id,
            [*path.command_prefix, *command],
            stdout=True,
            stderr=True,
            stdin=stdin or tty,
            tty=tty,
            environment=environment,
        )
        sock = api.exec_start(created["Id"], tty=tty, socket=True)
    except docker.errors.NotFound as error:
        reader.close()
        raise EngineError(f"container {path.container_id[:12]} is gone") from error
    except Exception as error:
        reader.close()
        raise as_engine_error(path.api_route.url, error) from error
    return ExecStream(reader, created["Id"], sock, tty)
