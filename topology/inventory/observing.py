"""What one graph websocket observes inside containers: live stats of what its page shows
(``watch``), and the logs it follows (``logs``, ``logs_stop``). Contract v2's messages.

``watch`` replaces the set of containers the page wants stats of (``[]``: none). Only those the
user may see are kept (another team's container is dropped without a word, as if unknown); they
go into the wanted set in Redis (``stats_store``), refreshed while the page stays and removed
when it goes, so the sampler samples exactly what some page shows. The sampler's batches reach
every watching consumer; each passes on only its own containers (``stats``). A container new to
the set comes with its last ten minutes from Redis (``history``, on the first ``stats``).

``logs`` starts following a container's logs (``log`` messages, see ``log_streams``) for team
operators and admins (and a live demo's owner); viewers get an error. At most
``MAX_LOG_STREAMS`` at once per websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from topology.inventory import container_access, stats_store
from topology.inventory.log_streams import LogFollower

logger = logging.getLogger(__name__)

MAX_WATCH = 800  # a watch message of 800 node ids is about 62 kB, under the frame limit
MAX_LOG_STREAMS = 4
MAX_TAIL = 5000
REFRESH_SECONDS = stats_store.WANT_SECONDS / 3

SendJson = Callable[[dict[str, Any]], Awaitable[None]]


def _redis(call: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """A Redis call off the event loop (Redis answering slowly never stalls other sockets)."""
    return sync_to_async(call, thread_sensitive=False)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Observer:
    """The ``watch`` and ``logs`` state of one websocket."""

    def __init__(self, consumer: Any, send_json: SendJson) -> None:
        self.consumer = consumer
        self.send_json = send_json
        self.watching: set[str] = set()
        self.in_group = False
        self.refresher: asyncio.Task[None] | None = None
        self.followers: dict[str, LogFollower] = {}
        self.redis: Any = None

    async def send_error(self, code: str, text: str, node: Any = None) -> None:
        message = {"type": "error", "code": code, "message": text}
        if isinstance(node, str) and len(node) < 200:
            message["node"] = node
        await self.send_json(message)

    @property
    def user(self) -> Any:
        return self.consumer.scope["user"]

    @property
    def name(self) -> str:
        return self.consumer.channel_name

    def _client(self) -> Any:
        if self.redis is None:
            self.redis = stats_store.client()
        return self.redis

    # --- watch --------------------------------------------------------------------------------

    async def watch(self, nodes: Any) -> None:
        if not isinstance(nodes, list) or len(nodes) > MAX_WATCH:
            await self.send_error(
                "bad_watch", f"nodes is a list of at most {MAX_WATCH} container node ids"
            )
            return
        asked = {h for h in (container_access.container_hex(n) for n in nodes) if h}
        allowed = await database_sync_to_async(container_access.visible_hexes)(self.user, asked)
        await self._watch(allowed)

    async def _watch(self, allowed: set[str]) -> None:
        added, dropped = allowed - self.watching, self.watching - allowed
        self.watching = allowed
        try:
            if dropped:
                await _redis(stats_store.unwant)(self._client(), self.name, dropped)
            if added:
                await _redis(stats_store.want)(self._client(), self.name, added)
        except stats_store.RedisError as error:
            logger.warning("stats wants not recorded: %s", error)
        await self._follow_stats(bool(allowed))
        if added:
            await self._send_history(added)

    async def _follow_stats(self, on: bool) -> None:
        layer = self.consumer.channel_layer
        if on and not self.in_group:
            await layer.group_add(stats_store.STATS_GROUP, self.name)
            self.in_group = True
            self.refresher = asyncio.create_task(self._refresh())
        elif not on and self.in_group:
            await layer.group_discard(stats_store.STATS_GROUP, self.name)
            self.in_group = False
            if self.refresher is not None:
                self.refresher.cancel()
                self.refresher = None

    async def _refresh(self) -> None:
        """Keep this page's wants from lapsing while it stays (and restore them after an
        outage of Redis)."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            if not self.watching:
                continue
            try:
                await _redis(stats_store.want)(self._client(), self.name, set(self.watching))
            except stats_store.RedisError as error:
                logger.info("stats wants not refreshed: %s", error)

    async def _send_history(self, hexes: set[str]) -> None:
        try:
            found = await _redis(stats_store.history)(self._client(), sorted(hexes))
        except stats_store.RedisError as error:
            logger.info("no stats history: %s", error)
            return
        if found:
            history = {f"container:{hex_id}": series for hex_id, series in found.items()}
            await self.send_json({"type": "stats", "at": _now(), "samples": {}, "history": history})

    async def stats(self, event: dict[str, Any]) -> None:
        """A batch from the sampler: pass on this page's containers only."""
        samples = event.get("samples") or {}
        mine = {
            node: sample
            for node, sample in samples.items()
            if container_access.container_hex(node) in self.watching
        }
        if mine:
            await self.send_json({"type": "stats", "at": event.get("at"), "samples": mine})

    async def recheck(self) -> None:
        """Who may see what changed: drop what this user may no longer see (stats and logs)."""
        allowed = await database_sync_to_async(container_access.visible_hexes)(
            self.user, set(self.watching) | {f.hex for f in self.followers.values()}
        )
        if self.watching - allowed:
            await self._watch(self.watching & allowed)
        for node, follower in list(self.followers.items()):
            if follower.hex not in allowed:
                await self.logs_stop(node)

    # --- logs ---------------------------------------------------------------------------------

    async def logs(self, message: dict[str, Any]) -> None:
        node = message.get("node")
        tail = message.get("tail", 100)
        follow = message.get("follow", True)
        if not isinstance(tail, int) or isinstance(tail, bool) or not 0 <= tail <= MAX_TAIL:
            await self.send_error("bad_logs", f"tail is a number of lines from 0 to {MAX_TAIL}")
            return
        if not isinstance(follow, bool):
            await self.send_error("bad_logs", "follow is true or false")
            return
        target = await database_sync_to_async(container_access.reach)(self.user, node)
        if target is None:
            await self.send_error("not_found", "No such container.", node=node)
            return
        allowed = await database_sync_to_async(container_access.may_read_logs)(self.user, target)
        if not allowed:
            await self.send_error("forbidden", container_access.logs_refusal(target), node=node)
            return
        if target.route is None:
            await self.send_error(
                "unreachable", "Its daemon does not answer now; try again later.", node=node
            )
            return
        await self.logs_stop(node, quiet=True)
        if len(self.followers) >= MAX_LOG_STREAMS:
            await self.send_error(
                "too_many_logs", f"At most {MAX_LOG_STREAMS} logs at once: stop one first."
            )
            return
        follower = LogFollower(
            node,
            target.route,
            target.container.container_id,
            tail=tail,
            follow=follow,
            send=self.send_json,
        )
        self.followers[node] = follower
        follower.start()

    async def logs_stop(self, node: Any, quiet: bool = False) -> None:
        follower = self.followers.pop(node, None) if isinstance(node, str) else None
        if follower is not None:
            await follower.stop()
            if not quiet:
                await self.send_json(
                    {"type": "log", "node": node, "lines": [], "ended": True, "notice": "Stopped."}
                )

    # --- the end ------------------------------------------------------------------------------

    async def close(self) -> None:
        for node in list(self.followers):
            await self.logs_stop(node, quiet=True)
        if self.refresher is not None:
            self.refresher.cancel()
        if self.watching:
            with contextlib.suppress(stats_store.RedisError):
                await _redis(stats_store.unwant)(self._client(), self.name, set(self.watching))
        self.watching = set()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await _redis(self.redis.close)()
