"""Demo pages and the progress websocket."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from topology.asgi import application
from topology.demos import services
from topology.demos.models import Demo


def test_demo_pages_need_a_login(client, db) -> None:
    assert client.get("/demos/").status_code == 302


def test_viewer_sees_demos_but_launch_is_disabled(logged_in_client, admin_user) -> None:
    demo = Demo.objects.create(
        kind="dind", owner=admin_user, expires=timezone.now(), error="<script>x</script>"
    )
    page = logged_in_client.get("/demos/").content.decode()
    assert 'data-may-launch="false"' in page and "disabled" in page
    detail = logged_in_client.get(f"/demos/{demo.id}/").content.decode()
    assert "<script>x</script>" not in detail and "&lt;script&gt;" in detail


def test_launcher_sees_enabled_buttons(client, user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="launch_demo"))
    client.force_login(user)
    assert 'data-may-launch="true"' in client.get("/demos/").content.decode()


HEADERS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


@pytest.mark.django_db(transaction=True)
def test_progress_socket_refuses_anonymous() -> None:
    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, "/ws/demos/", headers=list(HEADERS))
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_output())["code"] == 4401
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_progress_socket_sends_list_then_progress(admin_user, channel_layer_prefix) -> None:
    http = Client()
    http.force_login(admin_user)
    cookie = f"sessionid={http.cookies['sessionid'].value}".encode()

    async def scenario() -> None:
        communicator = WebsocketCommunicator(
            application, "/ws/demos/", headers=[*HEADERS, (b"cookie", cookie)]
        )
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from() == {"type": "demos", "demos": []}
        demo = await database_sync_to_async(services.request_launch)(admin_user, "dood")
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "demo" and message["demo"]["id"] == str(demo.id)
        assert message["demo"]["progress"]["total"] == 3  # the images, then two steps
        await communicator.send_json_to({"type": "launch", "kind": "dind"})
        assert (await communicator.receive_json_from())["code"] == "read_only"
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_graph_page_has_a_demo_panel(logged_in_client, client, admin_user) -> None:
    page = logged_in_client.get("/").content.decode()
    assert 'id="demo-panel"' in page and 'data-may-launch="false"' in page
    assert (
        'id="demo-row"' in page
        and 'id="demo-row"' in logged_in_client.get("/demos/").content.decode()
    )
    client.force_login(admin_user)
    assert 'data-may-launch="true"' in client.get("/").content.decode()


def test_an_operator_of_several_teams_chooses_one_and_sees_only_their_tear_downs(
    client, user
) -> None:
    import json
    import re

    from topology.teams.models import Membership, Team

    for slug in ("alpha", "beta"):
        team = Team.objects.create(slug=slug, name=slug.title())
        Membership.objects.create(team=team, user=user, role="operator")
    Membership.objects.create(
        team=Team.objects.create(slug="gamma", name="Gamma"), user=user, role="viewer"
    )
    client.force_login(user)
    for page in (client.get("/demos/"), client.get("/")):
        text = page.content.decode()
        assert 'data-may-launch="true"' in text
        options = re.findall(r'<option value="(\w*)">', text.split('class="launch-team"')[1])
        assert options[:2] == ["alpha", "beta"] and "gamma" not in options
        operated = re.search(r'id="demo-operated-teams"[^>]*>(.*?)</script>', text).group(1)
        assert json.loads(operated) == {"all": False, "teams": ["alpha", "beta"], "shared": True}


def test_an_operator_of_one_team_gets_no_choice(client, user) -> None:
    from topology.teams.models import Membership, Team

    team = Team.objects.create(slug="alpha", name="Alpha")
    Membership.objects.create(team=team, user=user, role="operator")
    client.force_login(user)
    text = client.get("/demos/").content.decode()
    assert 'data-may-launch="true"' in text and 'class="launch-team"' not in text
