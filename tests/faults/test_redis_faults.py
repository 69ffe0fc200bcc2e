"""Redis goes away for 20 s while Docker events keep coming. A private redis-server of this test
(never the shared one) is killed and started again on the same port; the events watcher (in a
thread, as ``make run``'s ``events`` process runs it) follows the real engine throughout."""

from __future__ import annotations

import copy
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Cleanup, free_port, run_workload, unique
from topology.inventory.models import Container
from topology.inventory.watching import Watcher

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 20


class PrivateRedis:
    """A redis-server on a loopback port of its own; ``stop`` and ``start`` keep the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="topology-fault-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--dir", str(self.folder)),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_of_our_own(settings) -> Iterator[PrivateRedis]:  # type: ignore[no-untyped-def]
    from channels.layers import channel_layers

    server = PrivateRedis()
    server.start()
    settings.REDIS_URL = server.url
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [{"address": server.url, "socket_timeout": 2}]
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    try:
        yield server
    finally:
        server.stop()
        channel_layers.backends.clear()


def eventually(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def state_of(hex_id: str) -> list[str]:
    return list(Container.objects.filter(container_id=hex_id).values_list("state", flat=True))


def test_redis_stopped_for_20_s_with_events_flowing(
    redis_of_our_own: PrivateRedis, docker_client, cleanup: Cleanup, settings
) -> None:  # type: ignore[no-untyped-def]
    from topology.channel_layer import send_to_group

    settings.TOPOLOGY_POLL_SECONDS = 1
    watcher = Watcher()
    with watcher.running_in_thread():
        before = run_workload(docker_client, cleanup, unique("before-outage"))
        eventually(lambda: state_of(before.id) == ["running"], "the first container arrived")

        redis_of_our_own.stop()
        down_at = time.monotonic()
        during = run_workload(docker_client, cleanup, unique("during-outage"))
        before.stop(timeout=1)
        eventually(
            lambda: state_of(during.id) == ["running"] and state_of(before.id) == ["exited"],
            "events during the outage reached the database",
            timeout=OUTAGE_SECONDS,
        )
        assert not send_to_group("topology.test", {"type": "x"}, "a probe")  # it really is down
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))

        redis_of_our_own.start()
        eventually(
            lambda: send_to_group("topology.test", {"type": "x"}, "a probe"),
            "the channel layer answered again (its backoff is at most 5 s)",
        )
        after = run_workload(docker_client, cleanup, unique("after-outage"))
        eventually(lambda: state_of(after.id) == ["running"], "events after the outage arrived")
    for container in (before, during, after):  # nothing lost, nothing twice
        assert len(state_of(container.id)) == 1
