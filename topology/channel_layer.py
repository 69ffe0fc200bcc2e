"""The one way anything is sent to the channel layer (Redis) for websocket consumers to forward."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections.abc import Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from channels.layers import get_channel_layer

from topology.outages import Outage

logger = logging.getLogger(__name__)

_outages: weakref.WeakKeyDictionary[Any, Outage] = weakref.WeakKeyDictionary()

PUBLISH_TIMEOUT_SECONDS = 10.0


class _PublishingLoop:
    """One event loop, in a thread of its own, per process, for publishing from blocking code.

    ``async_to_sync`` in a thread without a loop makes a new thread and a new loop for every
    message, and the channel layer a new Redis connection for every loop: at a hundred daemons
    that was a tenth of the watcher's database thread. Started on first use, again after a fork
    (Celery's prefork children).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.pid = 0

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future:
        with self.lock:
            alive = self.thread is not None and self.thread.is_alive()
            if self.loop is None or self.pid != os.getpid() or not alive:
                self.loop = asyncio.new_event_loop()
                self.thread = threading.Thread(
                    target=self.loop.run_forever, name="channel-layer", daemon=True
                )
                self.thread.start()
                self.pid = os.getpid()
            return asyncio.run_coroutine_threadsafe(coroutine, self.loop)


_publishing = _PublishingLoop()


def _in_a_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _outage_of(layer: Any) -> Outage:
    if layer not in _outages:
        _outages[layer] = Outage(
            "The channel layer (Redis)",
            logger,
            "live updates are not sent meanwhile (clients catch up with a snapshot)",
            longest_wait=5.0,
        )
    return _outages[layer]


def send_to_group(group: str, message: dict[str, Any], what: str) -> bool:
    """Send ``message`` to every consumer in ``group``; False when there is no channel layer
    or it does not answer. Never raises: a Redis outage loses live updates, never the change
    itself (clients catch up from the next snapshot). An outage is one warning (naming the
    first ``what`` that could not go) and one line when the layer answers again; in between,
    the layer is asked again only as its backoff allows (at most 5 s apart)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    outage = _outage_of(layer)
    if not outage.due:
        return False
    if _in_a_running_loop():  # blocking here would stall that loop: not an outage either
        logger.warning("could not publish %s from a thread that runs an event loop", what)
        return False
    sent = _publishing.submit(layer.group_send(group, message))
    try:
        sent.result(PUBLISH_TIMEOUT_SECONDS)
    except FutureTimeout:
        sent.cancel()
        outage.failed(f"could not publish {what}: no answer in {PUBLISH_TIMEOUT_SECONDS:.0f} s")
        return False
    except Exception as error:
        outage.failed(f"could not publish {what}: {error}")
        return False
    outage.answered()
    return True
