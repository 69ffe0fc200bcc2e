"""Following a daemon's ``/events`` stream without ever making it wait for us."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass

import docker.errors
import requests.exceptions

from topology.engine.connection import EngineError, as_engine_error
from topology.engine.reading import ApiReader, open_reader
from topology.engine.types import Route

#: The event types that change the graph: containers, networks (created, destroyed, a
#: container connected or disconnected) and images (pulled, loaded, tagged, untagged, deleted).
#: Volume events add nothing a container event does not.
FOLLOWED_TYPES = ("container", "network", "image")


@dataclass(frozen=True)
class EngineEvent:
    """One event of a followed type; ``subject`` is the container's or the network's ID."""

    engine_key: str
    type: str
    action: str
    subject: str
    time_nano: int


@dataclass(frozen=True)
class StreamBroken:
    """The stream ended or failed: whoever listens should re-poll in full."""

    engine_key: str
    error: str


QUIET_SECONDS = 30.0
#: A stream that lasted this long was healthy: the next one starts with the shortest backoff.
STEADY_SECONDS = 10.0
FIRST_BACKOFF = 0.5
LONGEST_BACKOFF = 10.0
MAX_FIELD = 256


def _event(route: Route, event: object) -> EngineEvent | None:
    """One decoded event as an ``EngineEvent``, or None when it is not one (untrusted input)."""
    if not isinstance(event, dict):
        return None
    stamp = event.get("timeNano")
    if isinstance(stamp, bool) or not isinstance(stamp, int) or stamp <= 0:
        stamp = time.time_ns()
    stamp = min(stamp, time.time_ns())  # a clock ahead would make us resubscribe in the future
    actor = event.get("Actor") if isinstance(event.get("Actor"), dict) else {}
    fields = (
        event.get("Type") or "container",
        event.get("Action") or event.get("status") or "",
        event.get("id") or actor.get("ID") or "",
    )
    if not all(isinstance(field, str) and len(field) <= MAX_FIELD for field in fields):
        return None
    kind, action, subject = fields
    return EngineEvent(route.key, kind, action, subject, stamp)


def follow(
    route: Route, out: queue.Queue, stop: threading.Event, since: float | None = None
) -> None:
    """Read container, network and image events from ``route`` into ``out`` until ``stop`` is set.

    The reading loop only decodes and enqueues (the queue is unbounded, so dockerd never waits
    on us). A quiet spell longer than the read timeout is not a failure: we resubscribe with
    ``since``. Any other end of the stream puts a ``StreamBroken`` in ``out`` and resubscribes
    after a backoff, doubling (up to 10 s) while the streams keep ending within
    ``STEADY_SECONDS`` of opening, even ones that "succeed" and end at once. Anything in the
    stream that is not an event is skipped.
    """
    backoff = FIRST_BACKOFF
    last = since if since is not None else time.time()

    def broken(reason: str, opened_at: float) -> None:
        nonlocal backoff
        out.put(StreamBroken(route.key, reason))
        if time.monotonic() - opened_at >= STEADY_SECONDS:
            backoff = FIRST_BACKOFF
        stop.wait(backoff)
        backoff = min(backoff * 2, LONGEST_BACKOFF)

    while not stop.is_set():
        opened_at = time.monotonic()
        try:
            reader = open_reader(route, read_timeout=QUIET_SECONDS)
        except EngineError as error:
            broken(str(error), opened_at)
            continue
        if not isinstance(reader, ApiReader):
            reader.close()
            return
        stream = None
        try:
            stream = reader.client.api.events(
                since=int(last), filters={"type": list(FOLLOWED_TYPES)}, decode=True
            )
            for decoded in stream:
                if stop.is_set():
                    break
                event = _event(route, decoded)
                if event is None:
                    continue  # not an event: nothing to learn from it
                last = event.time_nano / 1e9
                out.put(event)
            else:
                broken("the events stream ended", opened_at)
        except (requests.exceptions.ReadTimeout, TimeoutError):
            pass  # a quiet spell: subscribe again at once, from ``last``
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
            broken(str(as_engine_error(route.url, e)), opened_at)
        except Exception as error:
            if "timed out" not in str(error):
                broken(f"the events stream failed: {error!r:.300}", opened_at)
        finally:
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
            reader.close()
