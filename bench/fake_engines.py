"""Fake Docker engines for the scale benchmarks (never used by the product or its tests).

``FakeEngine`` is a small asyncio HTTP/1.1 server on a unix socket that answers what Topology
asks a daemon: ``/_ping``, ``/version``, ``/info``, ``/containers/json``,
``/containers/<id>/json``, ``/containers/<id>/top``, ``/networks``, ``/volumes`` and a
streaming ``/events``, for ``count`` idle containers. ``FakeFleet`` runs many of them on one
event loop in a background thread and changes them from the benchmark's thread (a container
started, with its event sent to every open ``/events`` stream).

A fake made with ``events=False`` answers ``/events`` with a 500: an engine whose stream is
unusable (a broken proxy), which Topology must poll instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "1.47"


def _hex() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def _id_filter(query: dict[str, list[str]]) -> list[str]:
    """The IDs of a ``filters={"id": [...]}`` query, as Docker reads them (prefixes)."""
    try:
        filters = json.loads(query.get("filters", ["{}"])[0])
    except ValueError:
        return []
    ids = filters.get("id") if isinstance(filters, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


class FakeEngine:
    """One fake daemon: its engine ID, containers, and open event streams."""

    def __init__(self, socket_path: Path, index: int, count: int, events: bool = True) -> None:
        self.socket_path = socket_path
        self.index = index
        self.events_usable = events
        self.engine_id = f"FAKE:{index:04d}:{uuid.uuid4().hex[:8].upper()}"
        self.name = f"fake-engine-{index}"
        self.containers: dict[str, dict[str, Any]] = {}
        self.streams: list[asyncio.Queue] = []
        self.requests = 0
        self.server: asyncio.AbstractServer | None = None
        for number in range(count):
            self._add(f"fake-{index}-{number}")

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _add(self, name: str) -> dict[str, Any]:
        ident = _hex()
        row = {
            "Id": ident,
            "Names": [f"/{name}"],
            "Image": "example/fake-app:1",
            "ImageID": "sha256:" + "f" * 64,
            "Command": "sleep infinity",
            "Created": int(time.time()),
            "State": "running",
            "Status": "Up",
            "Ports": [],
            "Labels": {"topology.managed": "true", "topology.bench": "fake"},
            "Mounts": [],
            "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "b" * 64}}},
        }
        self.containers[ident] = row
        return row

    def start_container(self, name: str) -> str:
        """Add a running container and tell every open stream (call on the fleet's loop)."""
        row = self._add(name)
        self._emit("create", row["Id"])
        self._emit("start", row["Id"])
        return row["Id"]

    def _emit(self, action: str, ident: str) -> None:
        now = time.time_ns()
        event = {
            "status": action,
            "id": ident,
            "from": "example/fake-app:1",
            "Type": "container",
            "Action": action,
            "Actor": {"ID": ident, "Attributes": {"image": "example/fake-app:1"}},
            "scope": "local",
            "time": now // 10**9,
            "timeNano": now,
        }
        for stream in self.streams:
            stream.put_nowait(event)

    def _inspect(self, row: dict[str, Any]) -> dict[str, Any]:
        created = datetime.fromtimestamp(row["Created"], UTC).isoformat().replace("+00:00", "Z")
        return {
            "Id": row["Id"],
            "Name": row["Names"][0],
            "Created": created,
            "Image": row["ImageID"],
            "State": {"Status": row["State"], "Running": True, "StartedAt": created},
            "Config": {"Image": row["Image"], "Labels": row["Labels"], "Env": ["SECRET=fake"]},
            "HostConfig": {"Privileged": False},
            "Mounts": [],
            "NetworkSettings": {"Ports": {}, "Networks": row["NetworkSettings"]["Networks"]},
        }

    def _answer(self, path: str, query: dict[str, list[str]] | None = None) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts and parts[0].startswith("v1."):
            parts = parts[1:]
        route = "/".join(parts)
        if route == "_ping":
            return 200, "OK"
        if route == "version":
            return 200, {
                "Version": "27.3.1",
                "ApiVersion": API_VERSION,
                "MinAPIVersion": "1.24",
                "Os": "linux",
                "Arch": "amd64",
            }
        if route == "info":
            return 200, {
                "ID": self.engine_id,
                "Name": self.name,
                "ServerVersion": "27.3.1",
                "OperatingSystem": "Fake Engine (benchmark)",
                "Containers": len(self.containers),
            }
        if route == "containers/json":
            wanted = _id_filter(query or {})
            rows = self.containers.values()
            return 200, [r for r in rows if not wanted or r["Id"].startswith(tuple(wanted))]
        if len(parts) == 3 and parts[0] == "containers":
            row = self.containers.get(parts[1])
            if row is None:
                return 404, {"message": f"No such container: {parts[1]}"}
            if parts[2] == "json":
                return 200, self._inspect(row)
            if parts[2] == "top":
                return 200, {"Titles": ["PID", "CMD"], "Processes": [["1", "sleep infinity"]]}
        if route == "networks":
            return 200, [
                {
                    "Name": "bridge",
                    "Id": "b" * 64,
                    "Driver": "bridge",
                    "Scope": "local",
                    "Internal": False,
                    "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]},
                    "Labels": {},
                }
            ]
        if route == "volumes":
            return 200, {"Volumes": [], "Warnings": None}
        if route == "images/json":
            return 200, []
        return 404, {"message": f"page not found: {path}"}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                length = 0
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                path = urlsplit(target).path
                if path.rstrip("/").endswith("/events"):
                    await self._events(writer, parse_qs(urlsplit(target).query))
                    return
                status, body = self._answer(path, parse_qs(urlsplit(target).query))
                if method == "HEAD":
                    body = ""
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                kind = "text/plain" if isinstance(body, str) else "application/json"
                reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
                    f"Api-Version: {API_VERSION}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            return
        finally:
            with contextlib.suppress(RuntimeError):
                writer.close()

    async def _events(self, writer: asyncio.StreamWriter, query: dict[str, list[str]]) -> None:
        if not self.events_usable:
            data = b'{"message":"events are not available through this proxy"}'
            writer.write(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            await writer.drain()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Api-Version: {API_VERSION}\r\n".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()
        stream: asyncio.Queue = asyncio.Queue()
        self.streams.append(stream)
        try:
            while True:
                event = await stream.get()
                data = (json.dumps(event) + "\n").encode()
                writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                await writer.drain()
        finally:
            self.streams.remove(stream)

    async def serve(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        self.server = await asyncio.start_unix_server(self.handle, path=str(self.socket_path))


class FakeFleet:
    """``count`` fake engines on unix sockets under ``folder``, served by one background loop."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.engines: list[FakeEngine] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakes", daemon=True)
        self.thread.start()

    def add(self, count: int, containers: int, events: bool = True) -> list[FakeEngine]:
        made = []
        for _ in range(count):
            index = len(self.engines)
            engine = FakeEngine(self.folder / f"fake-{index}.sock", index, containers, events)
            asyncio.run_coroutine_threadsafe(engine.serve(), self.loop).result(10)
            self.engines.append(engine)
            made.append(engine)
        return made

    def start_container(self, engine: FakeEngine, name: str) -> str:
        async def start() -> str:
            return engine.start_container(name)

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            for engine in self.engines:
                if engine.server is not None:
                    engine.server.close()
                engine.socket_path.unlink(missing_ok=True)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
