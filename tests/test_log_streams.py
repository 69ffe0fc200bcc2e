"""Logs over the websocket, on the real engine: the last lines, then what follows, for a host
container and one two daemons down (by exec); a flood is throttled, says so, and never
queues more than its bound; stopping ends the stream."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from tests.conftest import MANAGED, _remove, unique, websocket_headers
from tests.graph_schema import validate_message
from topology.asgi import application
from topology.engine.images import WORKLOAD_IMAGE
from topology.engine.types import Route
from topology.inventory import log_streams, polling
from topology.inventory.log_streams import LogFollower
from topology.inventory.models import Host
from topology.teams.models import Membership, Team

pytestmark = [
    pytest.mark.docker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer_prefix"),
]
CHATTY = ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"]
HOST = Route("unix:///var/run/docker.sock")


def chatty(client: Any, cleanup: Any, command: list[str] = CHATTY) -> Any:
    container = client.containers.run(
        WORKLOAD_IMAGE, command, name=unique("logs"), labels=MANAGED, detach=True
    )
    cleanup.add(_remove, container)
    return container


@pytest.fixture
def operator(world):  # type: ignore[no-untyped-def]
    team = Team.objects.create(slug="ops", name="Ops")
    user = get_user_model().objects.create_user("ops-operator")
    Membership.objects.create(team=team, user=user, role="operator")
    return team, user


def follow_over_the_websocket(user: Any, hex_id: str, seconds: float) -> list[dict]:
    headers = websocket_headers(user)

    async def scenario() -> list[dict]:
        communicator = WebsocketCommunicator(application, "/ws/topology/", headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        assert (await communicator.receive_json_from(timeout=10))["type"] == "snapshot"
        node = f"container:{hex_id}"
        await communicator.send_json_to({"type": "logs", "node": node, "tail": 3, "follow": True})
        messages = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if await communicator.receive_nothing(timeout=0.05):
                continue  # (a timed-out receive would end the application)
            message = await communicator.receive_json_from(timeout=5)
            assert message["type"] == "log" and message["node"] == node, message
            validate_message(message)
            messages.append(message)
        await communicator.send_json_to({"type": "logs_stop", "node": node})
        stopped = await communicator.receive_json_from(timeout=10)
        while stopped.get("notice") != "Stopped.":
            stopped = await communicator.receive_json_from(timeout=10)
        assert stopped["ended"] is True
        await communicator.disconnect()
        return messages

    return async_to_sync(scenario)()


def _numbers(messages: list[dict]) -> list[int]:
    return [int(line["text"].split()[1]) for m in messages for line in m["lines"]]


def test_a_host_container_tail_then_follow(operator, docker_client, cleanup) -> None:
    team, user = operator
    container = chatty(docker_client, cleanup)
    time.sleep(2)
    polling.poll_everything(publish=False)
    Host.objects.update(team=team)
    messages = follow_over_the_websocket(user, container.id, 3)
    numbers = _numbers(messages)
    assert len(messages[0]["lines"]) >= 3  # the tail, at once
    assert numbers == sorted(numbers) and len(numbers) >= 3 + 8  # then it followed
    assert all(
        line["at"].startswith("20") and line["stream"] == "stdout"
        for m in messages
        for line in m["lines"]
    )


def test_a_container_two_daemons_down(operator, deep_container, world) -> None:
    team, user = operator
    down = ["docker", "exec", world.dind.container.id, "docker", "exec", world.inner_dind.id]

    name = "deep-chatty"
    subprocess.run([*down, "docker", "rm", "-f", name], capture_output=True)
    started = subprocess.run(
        [
            *down,
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "topology.managed=true",
            WORKLOAD_IMAGE,
            *CHATTY,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    try:
        polling.poll_everything(publish=False)
        polling.poll_everything(publish=False)
        Host.objects.update(team=team)
        time.sleep(1)
        messages = follow_over_the_websocket(user, started.stdout.strip(), 3)
    finally:
        subprocess.run([*down, "docker", "rm", "-f", name], capture_output=True)
    numbers = _numbers(messages)
    assert len(numbers) >= 3 + 6 and numbers == sorted(numbers)


def test_a_flood_is_throttled_and_says_so(
    docker_client, offline_images, cleanup, monkeypatch
) -> None:
    monkeypatch.setattr(log_streams, "FLOOD_SECONDS", 1.0)
    container = chatty(docker_client, cleanup, ["sh", "-c", "yes flooding"])
    time.sleep(1)
    rate = 100.0
    sent: list[dict] = []
    most_queued = 0

    async def send(message: dict) -> None:
        sent.append(message)

    async def scenario() -> float:
        nonlocal most_queued
        follower = LogFollower(
            f"container:{container.id}",
            HOST,
            container.id,
            tail=10,
            follow=True,
            send=send,
            rate=rate,
        )
        started = time.monotonic()
        follower.start()
        while time.monotonic() - started < 5:
            most_queued = max(most_queued, len(follower.lines))
            await asyncio.sleep(0.05)
        await follower.stop()
        return time.monotonic() - started

    elapsed = async_to_sync(scenario)()
    lines = sum(len(m["lines"]) for m in sent)
    assert lines <= 10 + rate * (elapsed + 1) * 1.2, f"{lines} lines in {elapsed:.1f} s"
    assert lines >= rate * 2
    notices = [m["notice"] for m in sent if m.get("throttled")]
    assert notices and notices[0].startswith(
        "Log flood: more than 100 lines a second; skipped about"
    )
    assert most_queued <= log_streams.MAX_QUEUED
