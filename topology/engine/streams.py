"""Reading daemons and following their events with asyncio: many engines, one thread.

``AsyncEngine`` speaks the Docker API over HTTP/1.1 itself (unix sockets, TCP, TCP with TLS),
with a few kept-alive connections per engine, and returns the same typed values as the
blocking readers (``reading.container_from_listing``, ``container_from_inspect``).
``AsyncEngine.events`` follows ``/events``: an engine that answers it with anything but a
stream is said to have no usable stream (``StreamUnusable``), and its watcher polls it
instead. ssh and exec routes are not spoken here (``supports``): they are read by the
blocking readers, and polled.

What an engine answers is untrusted: bodies are bounded (``MAX_BODY_BYTES``), must be JSON of
the expected shape, and a bad answer is an ``EngineError`` for this engine alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.utils import version_lt

from topology.engine import identity
from topology.engine.connection import _tls_config
from topology.engine.errors import EngineError, EngineUnreachable
from topology.engine.image_listing import images_from_api
from topology.engine.nesting import may_run_dockerd
from topology.engine.networks import networks_from_api, volumes_from_api
from topology.engine.reading import (
    CONTAINER_ID,
    container_from_inspect,
    container_from_listing,
    engine_address,
    engine_info,
    parsed_containers,
    processes_include_dockerd,
)
from topology.engine.types import (
    ContainerInfo,
    EngineInfo,
    ImageInfo,
    NetworkInfo,
    Route,
    VolumeInfo,
)

MAX_BODY_BYTES = 64 * 2**20
MAX_EVENT_BYTES = 2**20
CONNECTIONS_PER_ENGINE = 4


@dataclass(frozen=True)
class EngineEvent:
    """One event of a daemon's stream, as far as the inventory cares."""

    kind: str  # "container", "network", "volume", ...
    action: str
    actor_id: str
    time_nano: int
    container_id: str = ""  # a network's connect or disconnect: the container it names


class StreamUnusable(EngineError):
    """The daemon answered ``/events`` with something that is not an event stream."""


def supports(route: Route) -> bool:
    """Whether ``AsyncEngine`` can speak to ``route`` (unix and tcp; not ssh, not exec)."""
    return not route.is_exec and route.scheme in ("unix", "tcp")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.http11 = True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class AsyncEngine:
    """One daemon's API, spoken with asyncio. Not thread-safe: use it from one event loop."""

    def __init__(
        self,
        route: Route,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        tls_dir: Path | None = None,
    ) -> None:
        if not supports(route):
            raise EngineError(f"{route.url}: not spoken by the asyncio reader")
        self.route = route
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        address = engine_address(route, connect_timeout, read_timeout, tls_dir)
        parts = urlsplit(route.url)
        self.path = parts.path if route.scheme == "unix" else ""
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (2376 if address.tls else 2375)
        tls = _tls_config(address)
        self.ssl: ssl.SSLContext | None = None
        if tls:
            context = ssl.create_default_context(cafile=tls.ca_cert) if tls.verify else None
            if context is None:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if tls.cert:
                context.load_cert_chain(*tls.cert)
            self.ssl = context
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(CONNECTIONS_PER_ENGINE)
        self.api_version = ""
        self.version_answer: Any = None
        self.asked: Counter[str] = Counter()  # requests made, by path (tests, benchmarks)

    async def _open(self) -> _Connection:
        try:
            if self.route.scheme == "unix":
                opening = asyncio.open_unix_connection(self.path)
            else:
                opening = asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                )
            async with asyncio.timeout(self.connect_timeout):  # (wait_for may swallow a cancel)
                reader, writer = await opening
        except (OSError, TimeoutError, ssl.SSLError) as error:
            raise EngineUnreachable(f"{self.route.url}: {error or type(error).__name__}") from None
        return _Connection(reader, writer)

    def _request_bytes(self, path: str, query: dict[str, Any] | None) -> bytes:
        prefix = f"/v{self.api_version}" if self.api_version else ""
        target = prefix + path + (f"?{urlencode(query)}" if query else "")
        return (
            f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\nUser-Agent: topology\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()

    async def _head(self, connection: _Connection) -> tuple[int, dict[str, str]]:
        line = await connection.reader.readline()
        if not line:
            raise ConnectionResetError("the daemon closed the connection")
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise EngineError(f"{self.route.url}: not an HTTP answer")
        connection.http11 = parts[0].startswith(b"HTTP/1.1")
        headers: dict[str, str] = {}
        while True:
            header = await connection.reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            if len(headers) > 100:
                raise EngineError(f"{self.route.url}: too many headers")
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    async def _body(self, connection: _Connection, headers: dict[str, str]) -> bytes:
        reader = connection.reader
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            size = 0
            while True:
                length = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    await reader.readline()
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY_BYTES:
                    raise EngineError(f"{self.route.url}: an answer over {MAX_BODY_BYTES} bytes")
                chunks.append(await reader.readexactly(length))
                await reader.readline()
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY_BYTES:
            raise EngineError(f"{self.route.url}: an answer over {MAX_BODY_BYTES} bytes")
        return await reader.readexactly(length)

    async def get(self, path: str, query: dict[str, Any] | None = None) -> tuple[int, Any]:
        """``GET path``: the status and the decoded JSON body (None if there was none).

        A kept-alive connection the daemon has closed meanwhile is replaced once.
        """
        self.asked[path] += 1
        async with self.slots:
            for attempt in (1, 2):
                reused = bool(self.idle)
                connection = self.idle.pop() if reused else await self._open()
                try:
                    connection.writer.write(self._request_bytes(path, query))
                    async with asyncio.timeout(self.read_timeout):
                        status, _headers, body, keep = await self._exchange(connection)
                except (OSError, asyncio.IncompleteReadError) as error:
                    connection.close()
                    if reused and attempt == 1:
                        continue
                    raise EngineUnreachable(
                        f"{self.route.url}: {error or type(error).__name__}"
                    ) from None
                except (TimeoutError, ValueError) as error:
                    connection.close()
                    raise EngineUnreachable(
                        f"{self.route.url}: {error or type(error).__name__}"
                    ) from None
                except BaseException:
                    connection.close()
                    raise
                if keep:
                    self.idle.append(connection)
                else:
                    connection.close()
                break
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            if status != 200:
                return status, None
            raise EngineError(f"{self.route.url}: {path} did not answer JSON") from None

    async def _exchange(self, connection: _Connection) -> tuple[int, dict[str, str], bytes, bool]:
        """Status, headers, body, and whether the connection may be used again."""
        await connection.writer.drain()
        status, headers = await self._head(connection)
        framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")
        if not framed:  # the body runs to the end of the connection (HTTP/1.0)
            body = await connection.reader.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                raise EngineError(f"{self.route.url}: an answer over {MAX_BODY_BYTES} bytes")
            return status, headers, body, False
        body = await self._body(connection, headers)
        keep = connection.http11 and headers.get("connection", "").lower() != "close"
        return status, headers, body, keep

    async def _ok(self, path: str, query: dict[str, Any] | None = None) -> Any:
        status, body = await self.get(path, query)
        if status != 200:
            message = body.get("message") if isinstance(body, dict) else None
            raise EngineError(f"{self.route.url}: {path} answered {status} {message or ''}".strip())
        return body

    async def negotiate(self) -> None:
        if self.api_version:
            return
        body = await self._ok("/version")
        server = body.get("ApiVersion") if isinstance(body, dict) else None
        if not isinstance(server, str) or not server.replace(".", "").isdigit():
            raise EngineError(f"{self.route.url}: /version has no API version")
        if version_lt(server, MINIMUM_DOCKER_API_VERSION):
            raise EngineError(
                f"{self.route.url}: API {server} is older than {MINIMUM_DOCKER_API_VERSION}"
            )
        self.api_version = server
        self.version_answer = body

    async def info(self) -> EngineInfo:
        await self.negotiate()
        body = await self._ok("/info")
        if not isinstance(body, dict):
            raise EngineError(f"{self.route.url}: /info is not an object")
        libpod = None
        if identity.engine_kind(self.version_answer, body) == identity.PODMAN:
            libpod = await self.libpod_info()
        return engine_info(self.route.key, body, self.api_version, self.version_answer, libpod)

    async def libpod_info(self) -> Any:
        """Podman's own ``/libpod/info``, as the blocking reader asks it: None when refused for
        good (a 4xx); no answer raises, so an identity never flips."""
        status, body = await self.get("/libpod/info")
        if 400 <= status < 500:
            return None
        if status != 200:
            raise EngineError(f"{self.route.url}: /libpod/info answered {status}")
        return body

    async def list_containers(self, ids: Iterable[str] = ()) -> list[ContainerInfo]:
        """Every container; with ``ids``, only those (Docker's ``id`` filter, which also
        matches prefixes: the caller keeps the exact ones)."""
        await self.negotiate()
        query = {"all": "1"}
        if ids := sorted(ids):
            query["filters"] = json.dumps({"id": ids})
        body = await self._ok("/containers/json", query)
        return parsed_containers(body, container_from_listing, "the container listing")

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        """The container, with whether it runs dockerd; None when it is gone."""
        await self.negotiate()
        status, body = await self.get(f"/containers/{quote(container_id, safe='')}/json")
        if status == 404:
            return None
        if status != 200:
            raise EngineError(f"{self.route.url}: inspecting {container_id[:12]} answered {status}")
        info = parsed_containers([body], container_from_inspect, "the container inspect")[0]
        if may_run_dockerd(info):
            info = replace(info, runs_dockerd=await self.runs_dockerd(container_id))
        elif info.state == "running":
            info = replace(info, runs_dockerd=False)
        return info

    async def list_networks(self, ids: Iterable[str] = ()) -> list[NetworkInfo]:
        """``GET /networks``: one call, every network complete (the address plan included);
        with ``ids``, only those (a prefix filter too)."""
        await self.negotiate()
        wanted = sorted(ids)
        query = {"filters": json.dumps({"id": wanted})} if wanted else None
        return networks_from_api(await self._ok("/networks", query))

    async def list_volumes(self) -> list[VolumeInfo]:
        await self.negotiate()
        return volumes_from_api(await self._ok("/volumes"))

    async def list_images(self) -> list[ImageInfo]:
        """``GET /images/json``: the daemon's image cache in one request."""
        await self.negotiate()
        return images_from_api(await self._ok("/images/json"))

    async def runs_dockerd(self, container_id: str) -> bool | None:
        status, body = await self.get(f"/containers/{quote(container_id, safe='')}/top")
        if status != 200 or not isinstance(body, dict):
            return None
        try:
            return processes_include_dockerd(body)
        except (TypeError, AttributeError):
            return None

    async def events(
        self, opened: Callable[[], None] | None = None, since: float | None = None
    ) -> AsyncIterator[EngineEvent]:
        """Follow ``/events`` until the stream ends (returns) or fails (``EngineError``);
        ``opened`` is called once the daemon has accepted the stream, before any event.

        Raises ``StreamUnusable`` when the daemon answers with anything but a stream.
        """
        await self.negotiate()
        query = {"filters": json.dumps({"type": ["container", "network", "volume", "image"]})}
        if since is not None:
            query["since"] = f"{since:.9f}"
        connection = await self._open()
        try:
            connection.writer.write(self._request_bytes("/events", query))
            await connection.writer.drain()
            async with asyncio.timeout(self.read_timeout):
                status, headers = await self._head(connection)
            if status != 200:
                raise StreamUnusable(f"{self.route.url}: /events answered {status}")
            if opened is not None:
                opened()
            chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            buffer = b""
            async for piece in self._pieces(connection, chunked):
                buffer += piece
                if len(buffer) > MAX_EVENT_BYTES:
                    raise EngineError(f"{self.route.url}: an event over {MAX_EVENT_BYTES} bytes")
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = _event(line)
                    if event is not None:
                        yield event
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            raise EngineUnreachable(f"{self.route.url}: {error or type(error).__name__}") from None
        finally:
            connection.close()

    async def _pieces(self, connection: _Connection, chunked: bool) -> AsyncIterator[bytes]:
        reader = connection.reader
        while True:
            if not chunked:
                piece = await reader.read(65536)
                if not piece:
                    return
                yield piece
                continue
            line = await reader.readline()
            if not line:
                return
            length = int(line.split(b";")[0].strip() or b"0", 16)
            if length == 0:
                return
            if length > MAX_EVENT_BYTES:
                raise EngineError(f"{self.route.url}: an event over {MAX_EVENT_BYTES} bytes")
            yield await reader.readexactly(length)
            await reader.readline()

    async def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


def _event(line: bytes) -> EngineEvent | None:
    line = line.strip()
    if not line:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    actor = data.get("Actor") if isinstance(data.get("Actor"), dict) else {}
    kind, action = data.get("Type"), data.get("Action") or data.get("status")
    ident = actor.get("ID") or data.get("id")
    stamp = data.get("timeNano")
    if not all(isinstance(v, str) for v in (kind, action, ident)):
        return None
    attributes = actor.get("Attributes") if isinstance(actor.get("Attributes"), dict) else {}
    named = attributes.get("container") if kind == "network" else None
    container = named if isinstance(named, str) and CONTAINER_ID.match(named) else ""
    return EngineEvent(kind, action, ident, stamp if isinstance(stamp, int) else 0, container)
