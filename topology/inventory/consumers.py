"""The live graph over a websocket (``/ws/topology/``): a bridge, nothing more.

On connect the consumer checks the user (4401 otherwise), joins the ``topology`` group, sends
a snapshot, then forwards each delta that follows the version the client already has, and a
fresh snapshot when the user's teams or a host's team change. It never builds graph data
itself: snapshots come from ``queries.current_graph`` and deltas from ``broadcast.publish``,
both cut to what the user's teams may see (``graph.visible_delta``). A delta cut to nothing is
still sent: it carries the version forward.

Inside containers (contract v2): ``watch`` (live stats of what the page shows), ``logs`` and
``logs_stop`` are ``observing``'s; the sampler's batches arrive as ``stats.samples``.

A wall screen stays live for days. Every ``TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS`` the consumer
sends a ``heartbeat`` with the version the client has, so a page can tell a quiet graph from a
dead link (pongs only prove the socket). It joins its group again well before the channel
layer's ``group_expiry`` would drop it (channels_redis: a day), and when the database's version
stays ahead of what it forwarded for two heartbeats (a delta it never got), it sends a
snapshot. A heartbeat that cannot be made (Redis or the database down) is not sent: the page
notices the silence and reconnects.

A client may ask for some layers of the graph only (contract v2, ``layers``): with
``?layers=containment,networks`` on the websocket's URL (so that the first snapshot is already
cut), or at any time with ``{"type": "layers", "layers": [...]}``, answered with a fresh
snapshot. Snapshots and deltas are then cut to those layers too.

A client may ask for snapshots compressed (``?encoding=deflate`` on the URL): each snapshot then
comes as a binary frame, the same JSON message compressed with raw DEFLATE (RFC 1951, what a
browser's ``DecompressionStream("deflate-raw")`` reads); everything else stays text. A 10,000-node
snapshot of some 9 MB is under 1 MB so. Without it, snapshots are text, as the contract says.

Nothing grows without bound. The channel layer holds at most its ``capacity`` messages for a
consumer and drops the rest; the consumer notices the hole in the version chain and sends a
fresh snapshot instead. A delta that arrives ahead of its predecessor (two publishers racing)
waits in a small buffer for ``REORDER_GRACE_SECONDS``; if the hole is not filled by then, or the
buffer is full, the client gets a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from topology.inventory import graph, graph_layers, queries
from topology.inventory.broadcast import GROUP
from topology.inventory.models import GraphRevision
from topology.inventory.observing import Observer

logger = logging.getLogger(__name__)

UNAUTHENTICATED = 4401
MAX_FRAME_BYTES = 64 * 1024
MAX_PENDING_DELTAS = 32
REORDER_GRACE_SECONDS = 0.5
MIN_SNAPSHOT_INTERVAL_SECONDS = 0.5
LONGEST_REJOIN_SECONDS = 600.0
ENCODINGS = ("deflate",)
DEFLATE_LEVEL = 1  # 9 MB in some 40 ms, to a tenth of it; level 6 takes three times as long


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _deflated(text: str) -> bytes:
    """``text`` as raw DEFLATE (no zlib header: what ``deflate-raw`` in a browser reads)."""
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return packer.compress(text.encode()) + packer.flush()


class TopologyConsumer(AsyncWebsocketConsumer):
    """One browser tab or script following the graph."""

    #: Messages that are doors of their own (the role matrix has a row for each).
    DOORS = ("layers", "watch", "logs", "logs_stop")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version: int | None = None
        self.visible: set[str] = set()
        self.allowed_hosts: set[str] | None = set()
        self.pending: dict[int, dict[str, Any]] = {}
        self.lock = asyncio.Lock()
        self.snapshot_task: asyncio.Task[None] | None = None
        self.heartbeat_task: asyncio.Task[None] | None = None
        self.snapshot_requested = False
        self.last_snapshot_at = 0.0
        self.observer = Observer(self, self._send_json)
        self.behind: int | None = None  # the database's version, last heartbeat, when ahead
        self.layers = graph_layers.ALL
        self.deflate = False  # snapshots as compressed binary frames (``?encoding=deflate``)

    async def connect(self) -> None:
        user = self.scope.get("user")
        # Accept first: a close before the handshake completes reaches the client as a bare
        # HTTP 403, and the client could not tell "log in again" from "go away".
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        self.groups.append(GROUP)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        problem = None
        if "layers" in query:
            try:
                self.layers = graph_layers.parse(",".join(query["layers"]))
            except graph_layers.UnknownLayer as error:
                problem = str(error)
        encoding = ",".join(query.get("encoding", []))
        self.deflate = encoding == "deflate"
        wrong_encoding = bool(encoding) and encoding not in ENCODINGS
        async with self.lock:
            await self._send_snapshot()
        if problem:
            await self._send_error("bad_layers", f"{problem}; sending every layer")
        if wrong_encoding:
            await self._send_error(
                "bad_encoding", f"unknown encoding {encoding!r} (known: deflate); sending text"
            )
        self.heartbeat_task = asyncio.create_task(self._heartbeats())

    async def disconnect(self, code: int) -> None:
        await self.observer.close()
        for task in (self.snapshot_task, self.heartbeat_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _heartbeats(self) -> None:
        every = settings.TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS
        expiry = float(getattr(self.channel_layer, "group_expiry", 86400))
        rejoin_every = min(max(expiry / 4, every), LONGEST_REJOIN_SECONDS)
        joined_at = time.monotonic()
        while True:
            await asyncio.sleep(every)
            try:
                if time.monotonic() - joined_at >= rejoin_every:
                    await self.channel_layer.group_add(GROUP, self.channel_name)
                    joined_at = time.monotonic()
                await self._heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis or the database: stay silent, the page reconnects
                logger.info("no heartbeat for %s: %s", self.channel_name, error)

    async def _heartbeat(self) -> None:
        """Send a heartbeat; first a snapshot if the client has stayed behind the database."""
        current = await database_sync_to_async(GraphRevision.current)()
        async with self.lock:
            if self.version is None:
                return
            if current > self.version and self.behind is not None and self.behind > self.version:
                await self._send_snapshot()  # the deltas up to ``behind`` never came
            self.behind = current if current > self.version else None
            await self.send(text_data=_dumps({"type": "heartbeat", "version": self.version}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.version is None:
            return  # closed with 4401, or not yet past connect
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self._send_error("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
            return
        if text_data is None:
            await self._send_error("bad_message", "send JSON text frames")
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._send_error("bad_json", "the frame is not valid JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send(text_data=_dumps({"type": "pong"}))
        elif kind == "resync":
            await self._request_snapshot()
        elif kind == "watch":
            await self.observer.watch(message.get("nodes"))
        elif kind == "logs":
            await self.observer.logs(message)
        elif kind == "logs_stop":
            await self.observer.logs_stop(message.get("node"))
        elif kind == "layers":
            await self._choose_layers(message.get("layers"))
        elif not isinstance(message, dict) or not isinstance(kind, str):
            await self._send_error("bad_message", 'a message is an object with a "type"')
        else:
            await self._send_error(
                "unknown_type",
                'known types are "resync", "ping", "layers", "watch", "logs" and "logs_stop"',
            )

    async def _choose_layers(self, names: Any) -> None:
        """``{"type": "layers", "layers": [...]}``: from now on only those; a fresh snapshot."""
        if not isinstance(names, list) or len(names) > len(graph_layers.LAYERS):
            await self._send_error(
                "bad_layers", f"layers is a list of: {', '.join(graph_layers.LAYERS)}"
            )
            return
        try:
            chosen = graph_layers.parse(names)
        except graph_layers.UnknownLayer as error:
            await self._send_error("bad_layers", str(error))
            return
        async with self.lock:
            self.layers = chosen
        await self._request_snapshot()

    async def graph_delta(self, event: dict[str, Any]) -> None:
        """A delta from ``broadcast.publish``: forward it if it follows what the client has."""
        message = event["message"]
        async with self.lock:
            if self.version is None or message["version"] <= self.version:
                return  # already part of the snapshot the client has
            if message["since"] == self.version:
                await self._forward(message)
                return
            if message["since"] < self.version or len(self.pending) >= MAX_PENDING_DELTAS:
                await self._send_snapshot()
                return
            self.pending[message["since"]] = message
        self._schedule_snapshot(REORDER_GRACE_SECONDS)

    async def graph_access(self, event: dict[str, Any]) -> None:
        """Who may see what changed (``broadcast.publish_access_change``): if this user's hosts
        differ now, the client gets a fresh snapshot before any further delta is cut."""
        async with self.lock:
            if self.version is None:
                return
            allowed = await database_sync_to_async(queries.allowed_host_nodes)(self.scope["user"])
            if allowed != self.allowed_hosts:
                await self._send_snapshot()
        await self.observer.recheck()

    async def stats_samples(self, event: dict[str, Any]) -> None:
        """A batch from the stats sampler (``sampling``): this page's part, if any."""
        await self.observer.stats(event)

    async def _forward(self, message: dict[str, Any]) -> None:
        """Send ``message`` and any buffered deltas that now follow on; call under the lock."""
        while message is not None:
            if self.allowed_hosts is not None and any(
                node["parent"] is None and node["id"] not in self.allowed_hosts
                for node in message["upsert"]["nodes"]
            ):  # a host new to us: the user may be allowed to see it
                self.allowed_hosts = await database_sync_to_async(queries.allowed_host_nodes)(
                    self.scope["user"]
                )
            wanted = graph_layers.delta_in(message, self.layers)
            cut = graph.visible_delta(wanted, self.visible, self.allowed_hosts)
            await self.send(text_data=_dumps(cut))
            self.version = message["version"]
            message = self.pending.pop(self.version, None)
        self.pending = {since: m for since, m in self.pending.items() if since > self.version}

    async def _request_snapshot(self) -> None:
        """A client asked for a resync: answer at once, or soon if it asked a moment ago."""
        wait = self.last_snapshot_at + MIN_SNAPSHOT_INTERVAL_SECONDS - time.monotonic()
        if wait <= 0:
            async with self.lock:
                await self._send_snapshot()
        else:
            self.snapshot_requested = True
            self._schedule_snapshot(wait)

    def _schedule_snapshot(self, delay: float) -> None:
        if self.snapshot_task is None or self.snapshot_task.done():
            self.snapshot_task = asyncio.create_task(self._snapshot_later(delay))

    async def _snapshot_later(self, delay: float) -> None:
        """Send a snapshot after ``delay`` if one is still owed (a hole, or a client's request)."""
        await asyncio.sleep(delay)
        async with self.lock:
            if self.snapshot_requested or self.pending:
                await self._send_snapshot()

    async def _send_snapshot(self) -> None:
        """Send the whole graph (what the user may see); call under the lock. The text, and
        its deflated form, are made once per graph version for everyone who sees the same."""
        current = await database_sync_to_async(queries.serialized_graph)(
            self.scope["user"], self.layers
        )
        self.allowed_hosts = None if current.allowed_hosts is None else set(current.allowed_hosts)
        self.pending.clear()
        self.snapshot_requested = False
        self.version = current.version
        self.visible = set(current.node_ids)
        self.last_snapshot_at = time.monotonic()
        text = current.snapshot_message
        packed = None
        if self.deflate:
            packed = current.packed.get("deflate")
            if packed is None:
                packed = current.packed["deflate"] = await asyncio.to_thread(_deflated, text)
        size = len(packed) if packed is not None else current.snapshot_bytes
        if size > settings.TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES:
            await self._send_error(
                "snapshot_too_large",
                f"the graph ({current.nodes} nodes, {size} bytes) is larger than this "
                f"server sends in one message ({settings.TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES} "
                "bytes): raise TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES",
            )
            return
        if packed is not None:
            await self.send(bytes_data=packed)
        else:
            await self.send(text_data=text)

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=_dumps(message))

    async def _send_error(self, code: str, text: str) -> None:
        await self.send(text_data=_dumps({"type": "error", "code": code, "message": text}))
