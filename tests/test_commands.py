"""poll_daemons --once and topology_snapshot, as the contract describes them."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.conftest import free_port
from tests.graph_schema import validate_graph

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def test_poll_once_then_snapshot_json_and_dot(world, settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing there: Redis is optional
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    out = io.StringIO()
    call_command("poll_daemons", "--once", stdout=out)
    assert "+" in out.getvalue()

    out = io.StringIO()
    call_command("topology_snapshot", "--format", "json", stdout=out)
    graph = json.loads(out.getvalue())
    validate_graph(graph)
    assert f"container:{world.c3.id}" in {n["id"] for n in graph["nodes"]}

    out = io.StringIO()
    call_command("topology_snapshot", "--format", "dot", stdout=out)
    assert out.getvalue().startswith("digraph topology {")
    assert f"cluster_container:{world.dind.container.id}" in out.getvalue()


def test_ensure_admin_prints_a_random_password_once(db) -> None:
    from django.contrib.auth import get_user_model

    first, second = io.StringIO(), io.StringIO()
    call_command("ensure_admin", stdout=first)
    call_command("ensure_admin", stdout=second)
    password = first.getvalue().split("Password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert admin.password != password and password not in admin.password
    assert second.getvalue() == ""


def test_demo_images_build_is_idempotent_and_offline(docker_client, offline_images) -> None:
    out = io.StringIO()
    call_command("demo_images", "build", stdout=out)
    assert out.getvalue().splitlines() == [
        "topology/dind:offline: already there",
        "topology/workload:offline: already there",
        "topology/docker-cli:offline: already there",
    ]
