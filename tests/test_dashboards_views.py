"""Team home pages and dashboard forms: who may open, change, duplicate and delete."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from topology.dashboards.models import Dashboard
from topology.teams.models import Membership, Team


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(slug="ops", name="Ops")


def member(team: Team | None, role: str, name: str | None = None) -> Client:
    user = get_user_model().objects.create_user(name or f"{role}-u", password="a-long-pw-777")
    if team is not None:
        Membership.objects.create(team=team, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_team_admin_creates_edits_duplicates_and_deletes(team) -> None:
    admin = member(team, "admin")
    form = {
        "name": "Wall",
        "team": team.pk,
        "layout": "force",
        "roles": ["dind", "dood"],
        "states": "running",
        "name_pattern": "web",
        "tiles": ["daemons", "roles"],
    }
    assert admin.post("/dashboards/new/", form).status_code == 302
    dashboard = Dashboard.objects.get()
    assert dashboard.filters == {"roles": ["dind", "dood"], "states": ["running"], "name": "web"}
    home = admin.get("/teams/ops/").content.decode()
    assert "Wall" in home and "Duplicate" in home
    assert (
        admin.post(f"/dashboards/{dashboard.pk}/edit/", {**form, "name": "Wall 2"}).status_code
        == 302
    )
    assert admin.post(f"/dashboards/{dashboard.pk}/duplicate/").status_code == 302
    assert sorted(Dashboard.objects.values_list("name", flat=True)) == ["Wall 2", "Wall 2 (copy)"]
    assert admin.post(f"/dashboards/{dashboard.pk}/delete/").status_code == 302
    assert list(Dashboard.objects.values_list("name", flat=True)) == ["Wall 2 (copy)"]


def test_open_and_kiosk_carry_the_saved_view_to_the_graph(team) -> None:
    dashboard = Dashboard.objects.create(
        name="Wall", team=team, filters={"roles": ["dind"], "name": "web"}, layout="force"
    )
    viewer = member(team, "viewer")
    opened = urlsplit(viewer.get(f"/dashboards/{dashboard.pk}/")["Location"])
    assert opened.path == "/"
    assert parse_qs(opened.query) == {
        "role": ["dind"],
        "q": ["web"],
        "layout": ["force"],
        "dashboard": [str(dashboard.pk)],
    }
    kiosk = urlsplit(viewer.get(f"/dashboards/{dashboard.pk}/kiosk/")["Location"])
    assert parse_qs(kiosk.query)["kiosk"] == ["1"]


def test_viewers_cannot_change_and_outsiders_cannot_open(team) -> None:
    dashboard = Dashboard.objects.create(name="Wall", team=team)
    viewer = member(team, "viewer")
    outsider = member(None, "", "outsider")
    assert "Edit" not in viewer.get("/teams/ops/").content.decode()
    assert viewer.get(f"/dashboards/{dashboard.pk}/edit/").status_code == 403
    assert viewer.post(f"/dashboards/{dashboard.pk}/delete/").status_code == 403
    assert viewer.get("/dashboards/new/").status_code == 403
    assert outsider.get(f"/dashboards/{dashboard.pk}/").status_code == 403
    assert outsider.get("/teams/ops/").status_code == 404
    assert Dashboard.objects.count() == 1


def test_bad_form_input_keeps_everything_and_says_why(team) -> None:
    admin = member(team, "admin")
    response = admin.post("/dashboards/new/", {"name": "", "team": team.pk, "layout": "spiral"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Dashboard.objects.exists()
