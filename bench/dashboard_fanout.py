"""Fan-out: 100 websocket clients on one Daphne; how long one delta takes to reach all of them.

The clients authenticate with a token, as scripts do, and run in one asyncio loop of this
process (a minimal RFC 6455 client below: the project has no websocket client library, and
autobahn is bound to Twisted once Daphne is imported). Each round is a real change
(``services.reconcile`` of a pretend engine) published as ``broadcast.publish`` does; times run
from the publish to each client receiving the delta, on one clock. 20 rounds; median and p95 of
the time until the last client has it, and of the single client times.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from datetime import UTC, datetime

from dashboard_stack import Stack, median, p95

CLIENTS = 100
ROUNDS = 20
ENGINE = "BENCH:FANOUT:1"


def change(round_number: int):  # type: ignore[no-untyped-def]
    """A pretend engine that shows one more container each round: one real graph change."""
    from topology.engine.types import ContainerInfo, DaemonSnapshot, EngineInfo, Route
    from topology.inventory import services
    from topology.inventory.services import Place

    containers = tuple(
        ContainerInfo(
            id=f"{n:064x}",
            name=f"fan-{n}",
            image="example/app:1",
            image_id="",
            state="running",
            created=datetime(2026, 1, 1, tzinfo=UTC),
            labels={},
            mounts=(),
            ports=(),
            networks=("bridge",),
            privileged=False,
            runs_dockerd=False,
        )
        for n in range(round_number + 5)
    )
    info = EngineInfo(ENGINE, "fanout", "27.3.1", "1.47", "Debian GNU/Linux 12")
    snapshot = DaemonSnapshot(Route(url="unix:///nonexistent/fanout.sock"), info, containers)
    return services.reconcile(snapshot, Place(host_name="fanout-host"))


class WebSocket:
    """Just enough of a websocket client to read text messages (and answer pings)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, origin: str, token: str) -> WebSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws/topology/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
                f"Authorization: Token {token}\r\n\r\n"
            ).encode()
        )
        status = await reader.readline()
        assert b" 101 " in status, status
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        return cls(reader, writer)

    async def receive(self) -> str:
        """The next text message (whole: the server does not fragment them)."""
        while True:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x1:
                return payload.decode()
            if opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                raise ConnectionError("closed by the server")

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.writer.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        self.writer.close()


async def run_clients(url: str, token: str) -> tuple[list[float], list[float]]:
    from channels.layers import get_channel_layer

    from topology.inventory.broadcast import GROUP

    arrivals: dict[int, list[float]] = {}
    everyone_has: dict[int, asyncio.Event] = {}

    async def follow(socket: WebSocket) -> None:
        while True:
            text = await socket.receive()
            at = time.perf_counter()
            message = json.loads(text)
            if message["type"] == "delta":
                seen = arrivals.setdefault(message["version"], [])
                seen.append(at)
                if len(seen) == CLIENTS and message["version"] in everyone_has:
                    everyone_has[message["version"]].set()

    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for _ in range(CLIENTS):
        socket = await WebSocket.connect(host, int(port), url, token)
        assert json.loads(await socket.receive())["type"] == "snapshot"
        sockets.append(socket)
    readers = [asyncio.create_task(follow(socket)) for socket in sockets]

    layer = get_channel_layer()
    last_client: list[float] = []
    each_client: list[float] = []
    for round_number in range(ROUNDS + 1):  # the first round warms up and is not counted
        changes = await asyncio.to_thread(change, round_number + 1)
        everyone_has[changes.version] = asyncio.Event()
        published = time.perf_counter()
        await layer.group_send(GROUP, {"type": "graph.delta", "message": changes.message()})
        await asyncio.wait_for(everyone_has[changes.version].wait(), 30)
        if round_number:
            times = [(at - published) * 1000 for at in arrivals[changes.version]]
            last_client.append(max(times))
            each_client.extend(times)
        await asyncio.sleep(0.2)
    for task in readers:
        task.cancel()
    for socket in sockets:
        socket.close()
    return last_client, each_client


def main() -> None:
    with Stack() as stack:
        change(0)
        stack.start_server()
        last_client, each_client = asyncio.run(run_clients(stack.url, stack.token))
    print(f"{CLIENTS} websocket clients, {ROUNDS} deltas, ms from publish:")
    print(
        f"  all clients have it   median {median(last_client):6.1f}   p95 {p95(last_client):6.1f}"
    )
    print(
        f"  each client           median {median(each_client):6.1f}   p95 {p95(each_client):6.1f}"
    )


if __name__ == "__main__":
    main()
