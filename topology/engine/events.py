"""Following a daemon's ``/events`` stream without ever making it wait for us."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import docker.errors
import requests.exceptions

from topology.engine.connection import EngineError, as_engine_error
from topology.engine.reading import ApiReader, open_reader
from topology.engine.types import Route

#: The event types that change the graph: containers, and networks (created, destroyed, a
#: container connected or disconnected). Volume events add nothing a container event does not.
FOLLOWED_TYPES = ("container", "network")


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


def follow(
    route: Route, out: queue.Queue, stop: threading.Event, since: float | None = None
) -> None:
    """Read container and network events from ``route`` into ``out`` until ``stop`` is set.

    The reading loop only decodes and enqueues (the queue is unbounded, so dockerd never waits
    on us). A quiet spell longer than the read timeout is not a failure: we resubscribe with
    ``since``. Any other end of the stream puts a ``StreamBroken`` in ``out`` and resubscribes
    after a short backoff.
    """
    backoff = 0.5
    last = since if since is not None else time.time()
    while not stop.is_set():
        try:
            reader = open_reader(route, read_timeout=QUIET_SECONDS)
        except EngineError as error:
            out.put(StreamBroken(route.key, str(error)))
            stop.wait(backoff)
            backoff = min(backoff * 2, 10)
            continue
        if not isinstance(reader, ApiReader):
            reader.close()
            return
        stream = None
        try:
            stream = reader.client.api.events(
                since=int(last), filters={"type": list(FOLLOWED_TYPES)}, decode=True
            )
            backoff = 0.5
            for event in stream:
                if stop.is_set():
                    break
                if not isinstance(event, dict):
                    continue  # not an event: nothing to learn from it
                stamp = event.get("timeNano")
                stamp = stamp if isinstance(stamp, int) else time.time_ns()
                last = stamp / 1e9
                actor = event.get("Actor") if isinstance(event.get("Actor"), dict) else {}
                out.put(
                    EngineEvent(
                        route.key,
                        str(event.get("Type") or "container"),
                        str(event.get("Action") or event.get("status") or ""),
                        str(event.get("id") or actor.get("ID") or ""),
                        stamp,
                    )
                )
            else:
                out.put(StreamBroken(route.key, "the events stream ended"))
        except (requests.exceptions.ReadTimeout, TimeoutError):
            pass
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as e:
            out.put(StreamBroken(route.key, str(as_engine_error(route.url, e))))
            stop.wait(backoff)
            backoff = min(backoff * 2, 10)
        except Exception as error:
            if "timed out" not in str(error):
                out.put(StreamBroken(route.key, str(error)))
                stop.wait(backoff)
        finally:
            if stream is not None:
                stream.close()
            reader.close()
