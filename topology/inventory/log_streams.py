"""Following one container's logs for one websocket: read in a thread, sent in batches.

Nothing here buffers without bound. The reading thread takes lines at most ``RATE`` a second
(after the first ``tail`` lines, which come at once) and waits when the page has not yet been
sent what it read (``MAX_QUEUED`` lines): the engine's stream simply waits for us. A container
that writes faster than that for ``FLOOD_SECONDS`` is a flood: the stream is dropped and opened
again from now on, and the page is told how much it missed; so a flood costs us ``RATE`` lines a
second, never the flood's own rate.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from topology.engine.connection import EngineError
from topology.engine.logs import LogLine, LogSource, open_logs
from topology.engine.types import Route

logger = logging.getLogger(__name__)

RATE = 200.0  # lines a second, sustained
FLOOD_SECONDS = 2.0
MAX_QUEUED = 1000
BATCH_SECONDS = 0.15
MAX_BATCH = 500

Send = Callable[[dict[str, Any]], Awaitable[None]]
Opener = Callable[..., LogSource]


class LogFollower:
    """One ``logs`` request: ``start`` it, ``stop`` it (idempotent)."""

    def __init__(
        self,
        node_id: str,
        route: Route,
        container_hex: str,
        *,
        tail: int,
        follow: bool,
        send: Send,
        rate: float = RATE,
        opener: Opener = open_logs,
    ) -> None:
        self.node_id = node_id
        self.route = route
        self.hex = container_hex
        self.tail = tail
        self.follow = follow
        self.send = send
        self.rate = rate
        self.opener = opener
        self.lines: collections.deque[LogLine] = collections.deque()
        self.notices: list[str] = []
        self.ended: str | None = None
        self.failed: str | None = None
        self.lock = threading.Lock()
        self.room = threading.Condition(self.lock)
        self.stopped = threading.Event()
        self.source: LogSource | None = None
        self.thread = threading.Thread(target=self._read, name=f"logs-{container_hex[:12]}")
        self.thread.daemon = True
        self.flusher: asyncio.Task[None] | None = None
        self.sent_lines = 0
        self.skipped_seconds = 0.0
        self.allowance = self.ceiling = self.last = 0.0

    def start(self) -> None:
        self.thread.start()
        self.flusher = asyncio.create_task(self._flush_loop())

    async def stop(self) -> None:
        self.stopped.set()
        with self.room:
            self.room.notify_all()
        source = self.source
        if source is not None:
            await asyncio.to_thread(source.close)
        if self.flusher is not None and self.flusher is not asyncio.current_task():
            self.flusher.cancel()

    # --- the reading thread -------------------------------------------------------------------

    def _read(self) -> None:
        since: str | None = None
        tail = self.tail
        self.ceiling = float(tail) + self.rate  # the tail comes at once, then a second's worth
        self.allowance, self.last = self.ceiling, time.monotonic()
        try:
            while not self.stopped.is_set():
                try:
                    self.source = self.opener(
                        self.route, self.hex, tail=tail, follow=self.follow, since=since
                    )
                except EngineError as error:
                    self._finish(failed=str(error))
                    return
                if self.stopped.is_set():
                    self.source.close()
                    return
                flooded = self._take(self.source)
                self.source.close()
                if flooded is None:
                    self._finish(ended="following" if self.follow else "done")
                    return
                # A flood: start again from now, and say what was skipped.
                since, tail = f"{time.time():.6f}", 0
                self.skipped_seconds += flooded
                self._notice(
                    f"Log flood: more than {self.rate:g} lines a second; skipped about "
                    f"{flooded:.1f} s of output (this view shows at most {self.rate:g} lines a "
                    "second)."
                )
        except EngineError as error:
            self._finish(failed=str(error))
        except Exception as error:  # a stream's end must reach the page whatever happened
            logger.exception("logs of %s", self.hex[:12])
            self._finish(failed=f"the log stream broke: {error}")

    def _take(self, source: LogSource) -> float | None:
        """Read lines into the queue within the rate (the allowance carries over from one
        source to the next); the seconds the flood lasted when the source writes too fast for
        too long, None when it ended (or we stopped)."""
        throttled_since: float | None = None
        for line in source.lines():
            if self.stopped.is_set():
                return None
            now = time.monotonic()
            self.allowance = min(self.allowance + (now - self.last) * self.rate, self.ceiling)
            self.ceiling = max(self.rate, self.ceiling - 1)
            self.last = now
            if self.allowance < 1:
                throttled_since = throttled_since or now
                if now - throttled_since >= FLOOD_SECONDS:
                    return now - throttled_since
                time.sleep((1 - self.allowance) / self.rate)
                self.allowance, self.last = 1.0, time.monotonic()
            elif throttled_since is not None and self.allowance >= self.rate / 2:
                throttled_since = None
            self.allowance -= 1
            with self.room:
                while len(self.lines) >= MAX_QUEUED and not self.stopped.is_set():
                    self.room.wait(0.5)
                self.lines.append(line)
        return None

    def _notice(self, text: str) -> None:
        with self.lock:
            self.notices.append(text)

    def _finish(self, ended: str | None = None, failed: str | None = None) -> None:
        with self.lock:
            self.ended = ended
            self.failed = failed

    # --- sending, on the consumer's loop ------------------------------------------------------

    def _batch(self) -> tuple[list[LogLine], list[str], str | None, str | None, bool]:
        with self.room:
            lines = [self.lines.popleft() for _ in range(min(len(self.lines), MAX_BATCH))]
            notices, self.notices = self.notices, []
            done = not self.lines and (self.ended is not None or self.failed is not None)
            self.room.notify_all()
            return lines, notices, self.ended, self.failed, done

    async def _flush_loop(self) -> None:
        try:
            while not self.stopped.is_set():
                lines, notices, ended, failed, done = self._batch()
                if lines or notices or done:
                    message: dict[str, Any] = {
                        "type": "log",
                        "node": self.node_id,
                        "lines": [
                            {"at": line.at, "stream": line.stream, "text": line.text}
                            for line in lines
                        ],
                    }
                    if notices:
                        message["notice"] = " ".join(notices)
                        message["throttled"] = True
                    if done:
                        message["ended"] = True
                        if failed:
                            message["notice"] = f"The logs could not be read: {failed}"
                        elif ended == "following":
                            message["notice"] = "The log ended (the container stopped)."
                    self.sent_lines += len(lines)
                    await self.send(message)
                    if done:
                        self.stopped.set()
                        return
                if len(lines) < MAX_BATCH:
                    await asyncio.sleep(BATCH_SECONDS)
        except asyncio.CancelledError:
            pass
