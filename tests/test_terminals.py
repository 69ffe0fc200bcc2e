"""Terminals on their own websocket, on the real engine: a shell runs ``echo`` in a nested
container (two daemons down, by exec) and in a host container, and each session is in the audit
log with its bytes; terminals are off unless switched on for the team, and for team admins
only; a demo's owner opens its workloads (never its DinD); idle sessions close; a foreign
Origin is refused; the page that draws it says what it is."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.conftest import websocket_headers
from topology.asgi import application
from topology.demos.models import Demo
from topology.inventory import polling
from topology.inventory.models import Container, Host, TerminalSession
from topology.teams.models import Membership, Team

pytestmark = [
    pytest.mark.docker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("channel_layer_prefix"),
]


@pytest.fixture
def ops(world, deep_container):  # type: ignore[no-untyped-def]
    """The world polled, on hosts of team Ops (terminals on); its admin, operator and a site
    admin."""
    polling.poll_everything(publish=False)
    polling.poll_everything(publish=False)
    team = Team.objects.create(slug="ops", name="Ops", exec_enabled=True)
    Host.objects.update(team=team)
    users = get_user_model().objects
    admin = users.create_user("ops-admin")
    operator = users.create_user("ops-operator")
    Membership.objects.create(team=team, user=admin, role="admin")
    Membership.objects.create(team=team, user=operator, role="operator")
    return {
        "team": team,
        "admin": admin,
        "operator": operator,
        "site": users.create_superuser("root"),
    }


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def open_terminal(
    user: Any, hex_id: str, origin: tuple[bytes, bytes] | None = None
) -> tuple[WebsocketCommunicator, dict]:
    headers = await sync_to_async(websocket_headers)(user, *([origin] if origin else []))
    communicator = WebsocketCommunicator(
        application, f"/ws/terminal/{hex_id}/?rows=30&cols=100", headers=headers
    )
    accepted, _ = await communicator.connect(timeout=10)
    assert accepted
    output = await communicator.receive_output(timeout=15)
    if output["type"] == "websocket.close":
        return communicator, {"close": output["code"]}
    return communicator, json.loads(output["text"])


async def read_until(
    communicator: WebsocketCommunicator, needle: bytes, timeout: float = 20
) -> bytes:
    seen = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while needle not in seen:
        output = await communicator.receive_output(timeout=max(deadline - loop.time(), 0.1))
        if output["type"] == "websocket.close":
            break
        if output.get("bytes"):
            seen += output["bytes"]
    return seen


def _echo_session(user: Any, hex_id: str) -> TerminalSession:
    typed = b"echo hello-$((6*7)) from $(hostname)\n"

    async def scenario() -> None:
        communicator, ready = await open_terminal(user, hex_id)
        assert ready["type"] == "ready", ready
        assert "root" in ready["warning"]
        await communicator.send_to(bytes_data=typed)
        seen = await read_until(communicator, f"hello-42 from {hex_id[:12]}".encode())
        assert f"hello-42 from {hex_id[:12]}".encode() in seen
        await communicator.send_to(text_data='{"type": "resize", "rows": 40, "cols": 120}')
        await communicator.send_to(bytes_data=b"exit\n")
        while True:
            output = await communicator.receive_output(timeout=15)
            if output["type"] == "websocket.close":
                break
            if output.get("text"):
                assert json.loads(output["text"]) == {"type": "exit", "code": 0}

    run(scenario)
    session = TerminalSession.objects.get(container_id=hex_id)
    assert session.username == user.get_username() and session.allowed_by == "team-exec"
    assert session.ended is not None and session.end_reason == "the shell exited (0)"
    assert session.bytes_in == len(typed) + len(b"exit\n") and session.bytes_out > 40
    assert session.team == "ops" and session.engine_id
    return session


def test_echo_in_a_container_two_daemons_down_is_audited(ops, deep_container) -> None:
    assert Container.objects.get(container_id=deep_container.id).daemon.access == "exec"
    _echo_session(ops["admin"], deep_container.id)


def test_echo_in_a_host_container_as_a_site_admin(ops, world) -> None:
    _echo_session(ops["site"], world.c1.id)


def test_terminals_are_off_unless_a_site_admin_switches_them_on(ops, world) -> None:
    Team.objects.filter(pk=ops["team"].pk).update(exec_enabled=False)

    async def scenario() -> list[dict]:
        frames = []
        for user in (ops["admin"], ops["site"], ops["operator"]):
            communicator, frame = await open_terminal(user, world.c1.id)
            frames.append(frame)
            await communicator.disconnect()
        return frames

    for frame in run(scenario):
        assert frame["type"] == "error" and frame["code"] == "forbidden"
        assert "off" in frame["message"]
    assert not TerminalSession.objects.exists()
    client = Client()
    client.force_login(ops["site"])
    assert client.get(f"/containers/{world.c1.id}/terminal/").status_code == 403


def test_operators_may_not_open_one_even_when_on(ops, world) -> None:
    async def scenario() -> dict:
        communicator, frame = await open_terminal(ops["operator"], world.c1.id)
        await communicator.disconnect()
        return frame

    frame = run(scenario)
    assert frame["code"] == "forbidden" and "team admin" in frame["message"]


def test_a_demo_owner_opens_its_workloads_and_not_its_daemons(ops, world) -> None:
    """``world.c3`` and the DinD play a demo's workload and DinD: labels and a live demo."""
    Team.objects.filter(pk=ops["team"].pk).update(exec_enabled=False)
    demo = Demo.objects.create(
        kind="dind",
        owner=ops["operator"],
        team=ops["team"],
        status=Demo.Status.RUNNING,
        expires=timezone.now() + timedelta(minutes=30),
    )
    workload = Container.objects.get(container_id=world.c3.id)
    workload.labels = {
        **workload.labels,
        "topology.demo": str(demo.pk),
        "topology.role": "workload",
    }
    workload.save()
    dind = Container.objects.get(container_id=world.dind.container.id)
    dind.labels = {**dind.labels, "topology.demo": str(demo.pk), "topology.role": "dind"}
    dind.save()

    async def scenario() -> tuple[dict, dict, dict]:
        mine, ready = await open_terminal(ops["operator"], world.c3.id)
        await mine.send_to(bytes_data=b"echo demo-$((1+1))\n")
        assert b"demo-2" in await read_until(mine, b"demo-2")
        await mine.disconnect()
        daemon, refused = await open_terminal(ops["operator"], world.dind.container.id)
        await daemon.disconnect()
        stranger, hidden = await open_terminal(ops["admin"], world.c3.id)  # not the owner; off
        await stranger.disconnect()
        return ready, refused, hidden

    ready, refused, hidden = run(scenario)
    assert ready["type"] == "ready" and ready["allowed_by"] == "demo-owner"
    assert refused["code"] == "forbidden" and hidden["code"] == "forbidden"
    (session,) = TerminalSession.objects.all()
    assert session.allowed_by == "demo-owner" and session.ended is not None
    Demo.objects.filter(pk=demo.pk).update(status=Demo.Status.STOPPING)  # not live: no more

    async def again() -> dict:
        communicator, frame = await open_terminal(ops["operator"], world.c3.id)
        await communicator.disconnect()
        return frame

    assert run(again)["code"] == "forbidden"


def test_an_idle_session_closes(ops, world, settings) -> None:
    settings.TOPOLOGY_TERMINAL_IDLE_SECONDS = 1

    async def scenario() -> list[dict]:
        communicator, ready = await open_terminal(ops["admin"], world.c1.id)
        assert ready["type"] == "ready"
        while True:
            output = await communicator.receive_output(timeout=15)
            if output["type"] == "websocket.close":
                return output["code"]

    assert run(scenario) == 4408
    session = TerminalSession.objects.get()
    assert session.end_reason == "idle for 1 s" and session.ended is not None


def test_a_foreign_origin_is_refused(ops, world) -> None:
    async def scenario() -> tuple[bool, Any]:
        headers = await sync_to_async(websocket_headers)(
            ops["admin"], (b"origin", b"http://evil.example")
        )
        communicator = WebsocketCommunicator(
            application, f"/ws/terminal/{world.c1.id}/", headers=headers
        )
        accepted, code = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return accepted, code

    accepted, _code = run(scenario)
    assert not accepted and not TerminalSession.objects.exists()


def test_the_page_says_it_is_root(ops, world) -> None:
    client = Client()
    client.force_login(ops["admin"])
    response = client.get(f"/containers/{world.c1.id}/terminal/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "as powerful as root on that engine" in text and "vendor/%40xterm/xterm" in text
    assert (
        "'unsafe-inline'" in response["Content-Security-Policy"].split("style-src")[1].split(";")[0]
    )
    assert "script-src 'self'" in response["Content-Security-Policy"]
