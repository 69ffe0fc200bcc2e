"""``watch``, ``logs`` and ``logs_stop`` on the graph websocket, team by team (no engine: the
engines are reconciled from made-up snapshots). A page may watch only what its user may see;
its wants reach Redis and leave it with the page; samples reach only the pages that watch them;
losing a team takes its containers off at once; history comes with a new watch; bad messages
get errors; a Redis outage loses stats, never the connection."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from tests.conftest import container_info, websocket_headers
from tests.graph_schema import validate_message
from topology.asgi import application
from topology.channel_layer import send_to_group
from topology.engine.nesting import SAME_MACHINE
from topology.engine.stats import StatsSample
from topology.engine.types import DaemonSnapshot, EngineInfo, Route
from topology.inventory import observing, services, stats_store
from topology.inventory.models import Host
from topology.inventory.services import Place
from topology.teams.models import Membership, Team

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer_prefix"),
]

ALPHA, BETA = "a" * 64, "b" * 64
SAMPLE = {"cpu_percent": 2.5, "mem_bytes": 1234, "mem_limit": None, "limit_set": False}


def _engine(host: str, engine: str, hex_id: str, team: Team) -> None:
    snapshot = DaemonSnapshot(
        Route(url=f"unix:///nonexistent/{host}.sock"),
        EngineInfo(engine, host, "27.0.0", "1.47", "Debian"),
        (container_info(hex_id, f"{host}-app"),),
    )
    services.reconcile(snapshot, Place(host_name=host), SAME_MACHINE, publish=False)
    Host.objects.filter(slug=host).update(team=team)


@pytest.fixture
def teams(db):  # type: ignore[no-untyped-def]
    alpha = Team.objects.create(slug="alpha", name="Alpha")
    beta = Team.objects.create(slug="beta", name="Beta")
    _engine("alpha-host", "ALPHA:1", ALPHA, alpha)
    _engine("beta-host", "BETA:1", BETA, beta)
    users = get_user_model().objects
    viewer = users.create_user("alpha-viewer")
    operator = users.create_user("alpha-operator")
    Membership.objects.create(team=alpha, user=viewer, role="viewer")
    Membership.objects.create(team=alpha, user=operator, role="operator")
    return {"alpha": alpha, "beta": beta, "viewer": viewer, "operator": operator}


@pytest.fixture
def redis_client():  # type: ignore[no-untyped-def]
    client = stats_store.client()
    yield client
    for key in client.scan_iter(match="topology:stats-*"):
        client.delete(key)
    client.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def connected(user: Any) -> WebsocketCommunicator:
    headers = await sync_to_async(websocket_headers)(user)
    communicator = WebsocketCommunicator(application, "/ws/topology/", headers=headers)
    assert (await communicator.connect(timeout=5))[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    return communicator


async def settle(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Ping and read up to the pong: the messages before are what the last ones caused."""
    await communicator.send_json_to({"type": "ping"})
    seen = []
    while (message := await communicator.receive_json_from(timeout=5)) != {"type": "pong"}:
        seen.append(message)
    return seen


async def publish(*hexes: str) -> None:
    batch = {
        "type": "stats.samples",
        "at": "2026-01-01T00:00:00Z",
        "samples": {f"container:{h}": SAMPLE for h in hexes},
    }
    assert await sync_to_async(send_to_group)(stats_store.STATS_GROUP, batch, "a test batch")


def test_a_page_watches_only_what_its_user_may_see(teams, redis_client) -> None:
    async def scenario() -> None:
        page = await connected(teams["viewer"])
        await page.send_json_to(
            {"type": "watch", "nodes": [f"container:{ALPHA}", f"container:{BETA}"]}
        )
        await settle(page)
        assert await sync_to_async(stats_store.wanted)(redis_client) == {ALPHA}
        await publish(ALPHA, BETA)
        stats = await page.receive_json_from(timeout=5)
        assert stats == {
            "type": "stats",
            "at": "2026-01-01T00:00:00Z",
            "samples": {f"container:{ALPHA}": SAMPLE},
        }
        await publish(BETA)  # nothing of it reaches the page
        assert await settle(page) == []
        await page.disconnect()
        assert await sync_to_async(stats_store.wanted)(redis_client) == set()

    run(scenario)


def test_two_pages_each_get_their_own(teams, redis_client) -> None:
    site = get_user_model().objects.create_superuser("root")

    async def scenario() -> None:
        alpha_page = await connected(teams["viewer"])
        site_page = await connected(site)
        await alpha_page.send_json_to({"type": "watch", "nodes": [f"container:{ALPHA}"]})
        await site_page.send_json_to({"type": "watch", "nodes": [f"container:{BETA}"]})
        await settle(alpha_page)
        await settle(site_page)
        assert await sync_to_async(stats_store.wanted)(redis_client) == {ALPHA, BETA}
        await publish(ALPHA, BETA)
        assert set((await alpha_page.receive_json_from(timeout=5))["samples"]) == {
            f"container:{ALPHA}"
        }
        assert set((await site_page.receive_json_from(timeout=5))["samples"]) == {
            f"container:{BETA}"
        }
        await site_page.send_json_to({"type": "watch", "nodes": []})  # [] stops them
        await settle(site_page)
        assert await sync_to_async(stats_store.wanted)(redis_client) == {ALPHA}
        await alpha_page.disconnect()
        await site_page.disconnect()

    run(scenario)


def test_losing_the_team_takes_the_watch_off(teams, redis_client) -> None:
    async def scenario() -> None:
        page = await connected(teams["viewer"])
        await page.send_json_to({"type": "watch", "nodes": [f"container:{ALPHA}"]})
        await settle(page)
        await sync_to_async(Membership.objects.filter(user=teams["viewer"]).delete)()
        assert (await page.receive_json_from(timeout=5))["type"] == "snapshot"
        await settle(page)
        assert await sync_to_async(stats_store.wanted)(redis_client) == set()
        await publish(ALPHA)
        assert await settle(page) == []
        await page.disconnect()

    run(scenario)


def test_a_new_watch_brings_the_last_ten_minutes(teams, redis_client) -> None:
    now = datetime.now(UTC)
    stats_store.record(redis_client, [StatsSample(ALPHA, now, 3.0, 100, 1000, True)])
    stats_store.record(redis_client, [StatsSample(BETA, now, 3.0, 100, None, False)])

    async def scenario() -> None:
        page = await connected(teams["viewer"])
        await page.send_json_to(
            {"type": "watch", "nodes": [f"container:{ALPHA}", f"container:{BETA}"]}
        )
        (history,) = await settle(page)
        assert history["type"] == "stats" and history["samples"] == {}
        validate_message(history)
        assert list(history["history"]) == [f"container:{ALPHA}"]  # never Beta's
        ((at, cpu, mem, limit),) = history["history"][f"container:{ALPHA}"]
        assert (cpu, mem, limit) == (3.0, 100, 1000) and abs(at - now.timestamp()) < 1
        await page.disconnect()

    run(scenario)


def test_wants_lapse_when_a_page_vanishes_without_a_word(redis_client) -> None:
    stats_store.want(redis_client, "gone-page", {ALPHA}, seconds=0.2)
    assert stats_store.wanted(redis_client) == {ALPHA}
    time.sleep(0.4)
    assert stats_store.wanted(redis_client) == set()


def test_bad_watch_and_logs_messages_get_errors(teams) -> None:
    async def scenario() -> None:
        page = await connected(teams["operator"])
        too_many = [f"container:{i:064x}" for i in range(observing.MAX_WATCH + 1)]
        for message, code in [
            ({"type": "watch", "nodes": "container:x"}, "bad_watch"),
            ({"type": "watch"}, "bad_watch"),
            ({"type": "logs", "node": f"container:{ALPHA}", "tail": -1}, "bad_logs"),
            ({"type": "logs", "node": f"container:{ALPHA}", "tail": "all"}, "bad_logs"),
            ({"type": "logs", "node": f"container:{ALPHA}", "follow": "yes"}, "bad_logs"),
            ({"type": "logs", "node": "container:../../etc/passwd"}, "not_found"),
            ({"type": "logs", "node": f"container:{BETA}"}, "not_found"),  # Beta's: hidden
        ]:
            await page.send_json_to(message)
            (answer,) = await settle(page)
            assert (answer["type"], answer["code"]) == ("error", code), message
        await page.send_to(text_data=json.dumps({"type": "watch", "nodes": too_many}))
        (answer,) = await settle(page)
        assert answer["code"] == "bad_watch"
        await page.send_to(text_data=json.dumps({"type": "watch", "nodes": too_many[:700]}))
        assert await settle(page) == []  # 700 is fine
        await page.disconnect()

    run(scenario)


def test_viewers_may_not_read_logs(teams) -> None:
    async def scenario() -> None:
        page = await connected(teams["viewer"])
        await page.send_json_to({"type": "logs", "node": f"container:{ALPHA}"})
        (answer,) = await settle(page)
        assert answer["code"] == "forbidden" and "operator" in answer["message"]
        assert answer["node"] == f"container:{ALPHA}"
        await page.disconnect()

    run(scenario)


def test_logs_of_an_engine_that_does_not_answer_end_with_a_notice(teams) -> None:
    async def scenario() -> None:
        page = await connected(teams["operator"])
        await page.send_json_to({"type": "logs", "node": f"container:{ALPHA}", "tail": 5})
        answer = await page.receive_json_from(timeout=10)
        assert answer["type"] == "log" and answer["ended"] is True
        assert answer["notice"].startswith("The logs could not be read")
        await page.disconnect()

    run(scenario)


def test_a_redis_outage_loses_stats_never_the_connection(teams, private_redis, monkeypatch) -> None:
    url, process = private_redis
    process.kill()
    process.wait()
    monkeypatch.setattr(
        stats_store,
        "client",
        lambda: redis.Redis.from_url(url, socket_connect_timeout=0.5),
    )

    async def scenario() -> None:
        page = await connected(teams["viewer"])
        await page.send_json_to({"type": "watch", "nodes": [f"container:{ALPHA}"]})
        assert await settle(page) == []
        await publish(ALPHA)  # the channel layer still works: the page still gets its stats
        assert (await page.receive_json_from(timeout=5))["samples"]
        await page.disconnect()

    run(scenario)
