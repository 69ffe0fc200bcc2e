"""REST for hosts, daemons, containers and dashboards: roles, teams and engine registration."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import container_info, free_port
from tests.tls_material import make_authority
from topology.dashboards.models import Dashboard
from topology.inventory.models import Endpoint
from topology.teams.models import Membership, Team


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(slug="ops", name="Ops")


def member(team: Team, role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-user", password="a-long-password-7")
    Membership.objects.create(team=team, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def register(client: Client, **fields) -> tuple[int, dict]:
    body = {"name": "lab", "team": "ops", **fields}
    response = client.post("/api/daemons/", body, content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "http://lab:2375"}, "Use unix://, tcp:// or ssh://"),
        ({"url": "tcp://127.0.0.1:9"}, "Plain tcp:// is refused"),
        ({"url": "tcp://127.0.0.1:9", "tls_client_cert": "PEM"}, "needs its key"),
    ],
)
def test_registration_refuses_with_a_clear_message(team, fields, message) -> None:
    status, body = register(member(team, "admin"), **fields)
    assert status == 400 and message in str(body)
    assert not Endpoint.objects.exists()


def test_an_engine_that_does_not_answer_is_not_registered(team) -> None:
    authority = make_authority()
    status, body = register(
        member(team, "admin"),
        url=f"tcp://127.0.0.1:{free_port()}",
        tls_ca_cert=authority.ca.cert,
        tls_client_cert=authority.client.cert,
        tls_client_key=authority.client.key,
    )
    assert status == 400 and "The engine did not answer" in str(body)
    assert not Endpoint.objects.exists()


def test_registration_with_a_bad_certificate_is_refused(team) -> None:
    authority = make_authority()
    status, body = register(
        member(team, "admin"),
        url="tcp://127.0.0.1:9",
        tls_ca_cert=authority.ca.cert,
        tls_client_cert="-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----",
        tls_client_key=authority.client.key,
    )
    assert status == 400 and "The client certificate is not a PEM certificate" in str(body)


def test_only_team_admins_register_and_only_site_admins_allow_insecure(team, admin_user) -> None:
    assert register(member(team, "operator"), url="unix:///var/run/docker.sock")[0] == 403
    status, body = register(member(team, "admin"), url="tcp://127.0.0.1:9", insecure=True)
    assert status == 403 and "site admin" in body["detail"]


def test_a_team_admin_registers_no_local_socket(team) -> None:
    """A local socket reaches this machine's engines (the shared one under any spelling, other
    teams' nested daemons): a team admin is refused before anything is connected to."""
    admin = member(team, "admin")
    for url in ("unix:///run/docker.sock", "unix:///var/run/docker.sock", "unix:///tmp/x.sock"):
        status, body = register(admin, url=url, name=f"n{len(url)}")
        assert status == 403 and "only a site admin" in body["detail"], (url, body)
    assert not Endpoint.objects.exists()


def test_an_engine_already_known_is_refused_naming_who_has_it(team, admin_user, tmp_path) -> None:
    """Beta's nested daemon, registered by its socket: refused, the sentence names Beta."""
    from tests.fake_engine import FakeEngine
    from topology.engine.types import DaemonSnapshot, EngineInfo, Route
    from topology.inventory import services
    from topology.inventory.models import Daemon, Host
    from topology.inventory.services import Place

    beta = Team.objects.create(slug="beta", name="Beta")
    with FakeEngine(tmp_path / "beta-dind.sock", engine_id="BETA:NESTED") as fake:
        root = EngineInfo("HOST:ID", "vm", "27", "1.47", "Debian")
        dind = container_info("d", "beta-dind", runs_dockerd=True)
        services.reconcile(DaemonSnapshot(Route("unix:///x.sock"), root, (dind,)), Place())
        Host.objects.update(team=beta)
        nested = EngineInfo("BETA:NESTED", "dind", "27", "1.47", "Alpine")
        services.reconcile(
            DaemonSnapshot(Route(fake.url), nested, ()),
            Place(parent_engine_id="HOST:ID", container_hex="d" * 64),
        )
        site = Client()
        site.force_login(admin_user)
        status, body = register(site, url=fake.url, name="grab")
    assert status == 400, body
    assert "already on the map" in body["url"][0] and "team Beta" in body["url"][0]
    assert not Endpoint.objects.exists()
    assert Daemon.objects.get(engine_id="BETA:NESTED").container.container_id == "d" * 64


@pytest.mark.docker
def test_the_local_engine_under_another_spelling_is_refused(team, admin_user) -> None:
    site = Client()
    site.force_login(admin_user)
    status, body = register(site, url="unix:///run/docker.sock", name="again")
    assert status == 400 and "the local engine (DOCKER_HOST)" in body["url"][0], body
    assert not Endpoint.objects.exists()


def test_dashboard_role_matrix(team) -> None:
    admin, operator, viewer = (
        member(team, "admin"),
        member(team, "operator"),
        member(team, "viewer"),
    )
    outsider = Client()
    outsider.force_login(get_user_model().objects.create_user("outsider", password="x-long-pw-123"))
    body = {
        "name": "Wall",
        "team": "ops",
        "filters": {"roles": ["dind"], "name": "web"},
        "layout": "force",
        "positions": {"host:a": {"x": 1, "y": 2.5}},
        "tiles": ["daemons", "roles"],
    }
    for client in (operator, viewer, outsider):
        response = client.post("/api/dashboards/", body, content_type="application/json")
        assert response.status_code == 403
    created = admin.post("/api/dashboards/", body, content_type="application/json")
    assert created.status_code == 201, created.json()
    url = f"/api/dashboards/{created.json()['id']}/"
    assert viewer.get(url).status_code == 200
    assert outsider.get(url).status_code == 404
    assert viewer.patch(url, {"name": "Mine"}, content_type="application/json").status_code == 403
    assert admin.patch(url, {"name": "Wall 2"}, content_type="application/json").status_code == 200
    # A change that keeps the name is not a clash with the dashboard itself; another's name is.
    moved = {"positions": {"host:a": {"x": 3, "y": 4}}}
    assert admin.patch(url, moved, content_type="application/json").status_code == 200
    copy = admin.post(f"{url}duplicate/")
    assert copy.status_code == 201 and copy.json()["name"] == "Wall 2 (copy)"
    clash = admin.patch(url, {"name": "Wall 2 (copy)"}, content_type="application/json")
    assert clash.status_code == 400
    assert viewer.delete(url).status_code == 403
    assert admin.delete(url).status_code == 204
    assert list(Dashboard.objects.values_list("name", flat=True)) == ["Wall 2 (copy)"]


@pytest.mark.parametrize(
    "bad",
    [
        {"filters": {"colour": "red"}},
        {"filters": {"roles": "dind"}},
        {"positions": {"n": {"x": "left"}}},
        {"tiles": ["weather"]},
        {"layout": "spiral"},
    ],
)
def test_dashboard_bad_input_is_a_clear_400(team, bad) -> None:
    body = {"name": "Wall", "team": "ops", **bad}
    response = member(team, "admin").post("/api/dashboards/", body, content_type="application/json")
    assert response.status_code == 400 and not Dashboard.objects.exists()


def test_lists_are_paginated_and_filtered(team, admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    page = client.get("/api/containers/?limit=1&role=dind").json()
    assert set(page) == {"count", "next", "previous", "results"}


def test_a_team_slug_with_a_nul_character_is_no_team(team) -> None:
    status, body = register(member(team, "admin"), url="unix:///var/run/docker.sock", team="o\x00")
    assert status == 400 and "team" in body
    assert not Endpoint.objects.exists()


def test_dashboard_filters_and_positions_with_a_nul_character_are_refused(team) -> None:
    client = member(team, "admin")
    for fields in (
        {"filters": {"name": "web\x00"}},
        {"positions": {"container:a\x00": {"x": 1, "y": 2}}},
    ):
        body = {"name": "wall", "team": "ops", **fields}
        response = client.post("/api/dashboards/", body, content_type="application/json")
        assert response.status_code == 400 and "NUL" in str(response.json())
