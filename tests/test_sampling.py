"""The stats sampler on the real engine: nothing wanted, nothing sampled; a wanted container
each period, on the host, in a DinD (its API) and two daemons down (by exec); samples to the
channel layer and the Redis history, never the database; an engine that does not answer, and
Redis going away, stop nothing else. Over a real websocket: stats arrive for the containers a
page watches (host and nested) and stop when the page closes."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import websocket_headers
from tests.graph_schema import validate_message
from topology.asgi import application
from topology.inventory import polling, stats_store
from topology.inventory.models import Container, Daemon, Host
from topology.inventory.sampling import Sampler

pytestmark = [
    pytest.mark.docker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer_prefix"),
]


@pytest.fixture
def redis_client():  # type: ignore[no-untyped-def]
    client = stats_store.client()
    yield client
    for key in client.scan_iter(match="topology:stats-*"):
        client.delete(key)
    client.close()


@pytest.fixture
def polled(world, deep_container):  # type: ignore[no-untyped-def]
    """The world in the database: every daemon polled, the deepest one (read by exec) too."""
    polling.poll_everything(publish=False)
    polling.poll_everything(publish=False)
    assert Container.objects.filter(container_id=deep_container.id).exists()
    deep_daemon = Container.objects.get(container_id=deep_container.id).daemon
    assert deep_daemon.access == Daemon.Access.EXEC and deep_daemon.nesting == 2
    return world


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout} s")


def test_nobody_looking_nothing_sampled(polled, redis_client) -> None:
    sampler = Sampler(period=1)
    with sampler.running_in_thread():
        time.sleep(3)
    assert sampler.counters.rounds == 0 and sampler.counters.samples == 0


def test_wanted_containers_are_sampled_on_every_route(polled, deep_container, redis_client):  # type: ignore[no-untyped-def]
    world = polled
    wanted = {world.c1.id, world.c3.id, deep_container.id}
    stats_store.want(redis_client, "test-page", wanted)
    sampler = Sampler(period=1)
    with CaptureQueriesContext(connection) as queries, sampler.running_in_thread():
        wait_for(
            lambda: all(sampler.counters.by_container.get(h, 0) >= 3 for h in wanted),
            what="three samples of each wanted container",
        )
        stats_store.unwant(redis_client, "test-page", wanted)
        time.sleep(1.5)  # a round under way may still finish
        settled = dict(sampler.counters.by_container)
        time.sleep(2.5)
        assert {h: sampler.counters.by_container[h] for h in wanted} == {
            h: settled[h] for h in wanted
        }
    writes = [
        q["sql"] for q in queries.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE")
    ]
    assert writes == [], "samples went into the database"
    history = stats_store.history(redis_client, wanted)
    assert set(history) == wanted
    for series in history.values():
        assert len(series) >= 3
        _at, cpu, mem, limit = series[-1]
        assert mem > 0 and limit is None and (cpu is None or cpu >= 0)
        assert [entry[0] for entry in series] == sorted(entry[0] for entry in series)
    assert sampler.counters.engine_errors == 0


def test_history_is_capped(redis_client, settings) -> None:
    from datetime import UTC, datetime

    from topology.engine.stats import StatsSample

    settings.TOPOLOGY_STATS_SECONDS = 60  # ten minutes hold 12 samples (+2)
    sample = StatsSample("e" * 64, datetime.now(UTC), 1.0, 10, 100, True)
    for _ in range(40):
        stats_store.record(redis_client, [sample])
    (series,) = stats_store.history(redis_client, ["e" * 64]).values()
    assert len(series) == stats_store.history_length() == 12
    key = stats_store._key("stats-history", "e" * 64)
    assert 0 < redis_client.ttl(key) <= stats_store.HISTORY_SECONDS
    assert series[-1][3] == 100  # the limit, since one is set


def test_an_engine_that_does_not_answer_stops_nothing_else(polled, redis_client) -> None:
    world = polled
    host = Host.objects.first()
    dead = Daemon.objects.create(
        engine_id="DEAD:ENGINE", name="dead", host=host, endpoint="unix:///nonexistent/dead.sock"
    )
    ghost = Container.objects.create(
        daemon=dead, container_id="d" * 64, name="ghost", image="x", state="running"
    )
    stats_store.want(redis_client, "test-page", {world.c1.id, ghost.container_id})
    sampler = Sampler(period=1)
    with sampler.running_in_thread():
        wait_for(lambda: sampler.counters.by_container.get(world.c1.id, 0) >= 3, what="c1 sampled")
        assert sampler.counters.engine_errors >= 1
        assert any(until > time.monotonic() - 60 for until, _ in sampler.backoff.values())
    assert ghost.container_id not in sampler.counters.by_container


def _redis_on(port: int, folder: str) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    wait_for(lambda: _pings(client), timeout=10, what="redis answering")
    client.close()
    return process


def _pings(client: Any) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def test_redis_going_away_pauses_the_sampler_which_carries_on(
    polled, private_redis, tmp_path
) -> None:
    import redis

    world = polled
    url, process = private_redis
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
    stats_store.want(client, "test-page", {world.c1.id}, seconds=120)
    sampler = Sampler(period=1, redis=client)
    with sampler.running_in_thread():
        wait_for(lambda: sampler.counters.by_container.get(world.c1.id, 0) >= 1, what="a sample")
        process.kill()
        process.wait()
        wait_for(lambda: sampler.counters.outages >= 1, what="the outage noticed")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        again = _redis_on(port, str(tmp_path))
        try:
            stats_store.want(client, "test-page", {world.c1.id}, seconds=120)  # Redis forgot
            before = sampler.counters.by_container[world.c1.id]
            wait_for(
                lambda: sampler.counters.by_container[world.c1.id] > before + 1,
                timeout=40,
                what="sampling again after the outage",
            )
        finally:
            again.kill()
            again.wait()


# --- Over the websocket ---------------------------------------------------------------------------


def test_stats_reach_the_page_that_watches_and_stop_when_it_closes(
    polled, deep_container, admin_user, redis_client
) -> None:
    world = polled
    headers = websocket_headers(admin_user)
    nodes = {
        f"container:{world.c1.id}",
        f"container:{world.c3.id}",
        f"container:{deep_container.id}",
    }
    sampler = Sampler(period=1)

    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, "/ws/topology/", headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        assert (await communicator.receive_json_from(timeout=10))["type"] == "snapshot"
        await communicator.send_json_to({"type": "watch", "nodes": sorted(nodes)})
        seen: dict[str, dict] = {}
        deadline = asyncio.get_running_loop().time() + 30
        while set(seen) != nodes and asyncio.get_running_loop().time() < deadline:
            message = await communicator.receive_json_from(timeout=30)
            if message["type"] == "stats":
                validate_message(message)
                assert set(message["samples"]) <= nodes
                seen.update(message["samples"])
        assert set(seen) == nodes
        for sample in seen.values():
            assert sample["mem_bytes"] > 0 and set(sample) >= {
                "cpu_percent",
                "mem_bytes",
                "mem_limit",
            }
        assert await sync_to_async(stats_store.wanted)(redis_client) >= {
            h.split(":")[1] for h in nodes
        }
        await communicator.disconnect()

    with sampler.running_in_thread():
        async_to_sync(scenario)()
        assert stats_store.wanted(redis_client) == set(), "a closed page still wants stats"
        time.sleep(1.5)
        settled = dict(sampler.counters.by_container)
        time.sleep(3)
        assert sampler.counters.by_container == settled, "sampled after the page closed"
