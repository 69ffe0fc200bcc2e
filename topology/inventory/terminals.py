"""An interactive terminal over a websocket of its own: ``/ws/terminal/<container hex>/``.

Remote root: who may open one is ``container_access.terminal_grant`` (terminals switched on for
the team by a site admin, the team's admins; a live demo's owner in its workloads). Every
session is in the audit log (``TerminalSession``: who, which container, when it started and
ended, bytes each way, why it ended), written before the shell starts.

Frames: the page sends keystrokes as binary frames (or ``{"type": "input", "data": "..."}``)
and ``{"type": "resize", "rows": R, "cols": C}``; the server sends the shell's output as binary
frames, and ``ready``, ``exit`` and ``error`` as JSON text. The shell's output is read at most
``MAX_OUTPUT_BYTES_PER_SECOND`` and no more than ``QUEUE_CHUNKS`` chunks wait for the page:
beyond that the shell waits, as on a slow terminal. A session with no keystroke for
``TOPOLOGY_TERMINAL_IDLE_SECONDS`` is closed. Close codes: 4401 not signed in, 4403 not
allowed, 4404 no such container (or not yours to see), 4408 idle, 4500 the engine failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from topology.engine.chains import ExecStream
from topology.engine.connection import EngineError
from topology.engine.terminal import clamp_size, open_terminal
from topology.inventory import container_access, services
from topology.inventory.container_access import Reach

logger = logging.getLogger(__name__)

UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, IDLE, ENGINE_FAILED = 4401, 4403, 4404, 4408, 4500
MAX_INPUT_BYTES = 64 * 1024
MAX_OUTPUT_BYTES_PER_SECOND = 512 * 1024
QUEUE_CHUNKS = 64
RECORD_EVERY_SECONDS = 30.0
WARNING = (
    "This terminal is as powerful as root on that engine: what you type runs in the container "
    "with its privileges, and every session is in the audit log."
)


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _size(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query.get(name, [default])[0])
    except (TypeError, ValueError):
        return default


def _open_session(user: Any, node_id: str) -> tuple[Reach | None, str | None, str, int | None]:
    """``(target, allowed_by, refusal, audit row pk)``: the row exists once it is allowed."""
    target = container_access.reach(user, node_id)
    if target is None:
        return None, None, "No such container.", None
    allowed_by, refusal = container_access.terminal_grant(user, target)
    if allowed_by is None:
        return target, None, refusal, None
    slug = target.team.slug if target.team else ""
    row = services.open_terminal_session(user, target.container, slug, allowed_by)
    return target, allowed_by, "", row.pk


class TerminalConsumer(AsyncWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream: ExecStream | None = None
        self.session_pk: int | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.last_input = time.monotonic()
        self.tasks: list[asyncio.Task[None]] = []
        self.output: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)
        self.reader: threading.Thread | None = None
        self.end_reason = "closed by the page"
        self.finished = threading.Event()

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        hex_id = str(self.scope["url_route"]["kwargs"].get("container", ""))
        target, allowed_by, refusal, pk = await database_sync_to_async(_open_session)(
            user, f"container:{hex_id}"
        )
        if target is None:
            await self._refuse("not_found", refusal, NOT_FOUND)
            return
        if allowed_by is None:
            await self._refuse("forbidden", refusal, FORBIDDEN)
            return
        self.session_pk = pk
        if target.route is None or target.container.state != "running":
            self.end_reason = "the container is not running or its daemon does not answer"
            await self._refuse("unavailable", "The container is not running now.", ENGINE_FAILED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        rows, cols = clamp_size(_size(query, "rows", 24), _size(query, "cols", 80))
        try:
            self.stream = await asyncio.to_thread(
                open_terminal, target.route, target.container.container_id, rows, cols
            )
        except EngineError as error:
            self.end_reason = f"the engine refused: {error}"
            await self._refuse("engine", f"The shell could not be started: {error}", ENGINE_FAILED)
            return
        loop = asyncio.get_running_loop()
        self.reader = threading.Thread(target=self._read, args=(loop,), daemon=True)
        self.reader.start()
        self.tasks = [
            asyncio.create_task(self._pump()),
            asyncio.create_task(self._watch_idle()),
        ]
        await self.send(
            text_data=_dumps(
                {
                    "type": "ready",
                    "container": target.container.name,
                    "allowed_by": allowed_by,
                    "idle_seconds": settings.TOPOLOGY_TERMINAL_IDLE_SECONDS,
                    "warning": WARNING,
                }
            )
        )

    async def _refuse(self, code: str, text: str, close_code: int) -> None:
        await self.send(text_data=_dumps({"type": "error", "code": code, "message": text}))
        await self._finish()
        await self.close(code=close_code)

    # --- the shell's output -------------------------------------------------------------------

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        """In a thread: the shell's output into the queue, within the rate, waiting while the
        page is behind."""
        stream = self.stream
        assert stream is not None
        started, sent = time.monotonic(), 0
        try:
            while not self.finished.is_set():
                chunk = stream.recv(16384)
                if not chunk:
                    break
                sent += len(chunk)
                ahead = sent / MAX_OUTPUT_BYTES_PER_SECOND - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(min(ahead, 1.0))
                if time.monotonic() - started > 5:
                    started, sent = time.monotonic(), 0
                self._hand_over(loop, chunk)
        except (OSError, RuntimeError, EngineError):
            pass
        self._hand_over(loop, None)

    def _hand_over(self, loop: asyncio.AbstractEventLoop, chunk: bytes | None) -> None:
        while not self.finished.is_set():
            try:
                asyncio.run_coroutine_threadsafe(self.output.put(chunk), loop).result(timeout=1)
                return
            except TimeoutError:
                continue
            except RuntimeError:  # the loop is gone
                return

    async def _pump(self) -> None:
        last_record = time.monotonic()
        while True:
            chunk = await self.output.get()
            if chunk is None:
                break
            self.bytes_out += len(chunk)
            await self.send(bytes_data=chunk)
            if time.monotonic() - last_record > RECORD_EVERY_SECONDS:
                last_record = time.monotonic()
                await self._record(None)
        code = await asyncio.to_thread(self.stream.exit_code) if self.stream else None
        self.end_reason = f"the shell exited ({code})"
        await self.send(text_data=_dumps({"type": "exit", "code": code}))
        await self._finish()
        await self.close(code=1000)

    async def _watch_idle(self) -> None:
        idle = float(settings.TOPOLOGY_TERMINAL_IDLE_SECONDS)
        while True:
            left = idle - (time.monotonic() - self.last_input)
            if left <= 0:
                self.end_reason = f"idle for {idle:g} s"
                await self.send(
                    text_data=_dumps(
                        {"type": "error", "code": "idle", "message": f"Closed: idle {idle:g} s."}
                    )
                )
                await self._finish()
                await self.close(code=IDLE)
                return
            await asyncio.sleep(min(left, 5.0))

    # --- the page's input ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.stream is None:
            return
        data = bytes_data
        if text_data is not None:
            try:
                message = json.loads(text_data)
            except ValueError:
                return
            if not isinstance(message, dict):
                return
            if message.get("type") == "resize":
                rows, cols = message.get("rows"), message.get("cols")
                if isinstance(rows, int) and isinstance(cols, int):
                    rows, cols = clamp_size(rows, cols)
                    with contextlib.suppress(EngineError):
                        await asyncio.to_thread(self.stream.resize, rows, cols)
                return
            if message.get("type") == "input" and isinstance(message.get("data"), str):
                data = message["data"].encode()
        if not data:
            return
        if len(data) > MAX_INPUT_BYTES:
            data = data[:MAX_INPUT_BYTES]
        self.last_input = time.monotonic()
        self.bytes_in += len(data)
        try:
            await asyncio.to_thread(self.stream.send, data)
        except OSError as error:
            self.end_reason = f"the shell's input broke: {error}"
            await self._finish()
            await self.close(code=ENGINE_FAILED)

    # --- the end ------------------------------------------------------------------------------

    async def _record(self, end_reason: str | None) -> None:
        if self.session_pk is None:
            return
        try:
            await database_sync_to_async(services.record_terminal_session)(
                self.session_pk, self.bytes_in, self.bytes_out, end_reason
            )
        except Exception:  # the audit row of a session must not take the session down
            logger.exception("terminal session %s not recorded", self.session_pk)

    async def _finish(self) -> None:
        """Stop the shell and close the audit row, once."""
        self.finished.set()
        stream, self.stream = self.stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)
        if self.session_pk is not None:
            await self._record(self.end_reason)
            self.session_pk = None
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()

    async def disconnect(self, code: int) -> None:
        await self._finish()
