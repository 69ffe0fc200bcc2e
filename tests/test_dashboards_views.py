"""Team home pages and dashboard forms: who may open, change, duplicate and delete."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
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


SCOPE = {
    "hosts": ["host:a", "host:b"],
    "daemons": ["daemon:X"],
    "roles": ["dind", "dood"],
    "states": ["running"],
    "name": "web-*",
    "label": "tier=front",
}


def test_open_and_kiosk_carry_the_saved_view_to_the_graph(team) -> None:
    """The filters stay out of the URL (the page's one-value controls start clear); the page
    takes them whole from the dashboard."""
    dashboard = Dashboard.objects.create(name="Wall", team=team, filters=SCOPE, layout="force")
    viewer = member(team, "viewer")
    opened = urlsplit(viewer.get(f"/dashboards/{dashboard.pk}/")["Location"])
    assert opened.path == "/"
    assert parse_qs(opened.query) == {"layout": ["force"], "dashboard": [str(dashboard.pk)]}
    kiosk = urlsplit(viewer.get(f"/dashboards/{dashboard.pk}/kiosk/")["Location"])
    assert parse_qs(kiosk.query) == {
        "layout": ["force"],
        "dashboard": [str(dashboard.pk)],
        "kiosk": ["1"],
    }
    shown = page_config(viewer.get(f"{opened.path}?{opened.query}"))["dashboard"]
    assert shown["filters"] == SCOPE and shown["name"] == "Wall"


def test_graph_query_keeps_every_value_out_of_the_controls(team) -> None:
    dashboard = Dashboard.objects.create(name="Wall", team=team, filters=SCOPE)
    assert dashboard.graph_query() == {"layout": "nested", "dashboard": str(dashboard.pk)}
    assert Dashboard(team=team).graph_query()["layout"] == "nested"


@pytest.mark.parametrize(
    ("filters", "summary"),
    [
        ({}, ""),
        ({"roles": ["dind", "dood"], "states": ["running"]}, "roles dind, dood; state running"),
        ({"exposure": ["public"]}, "exposed by public"),
        (
            SCOPE,
            "hosts host:a, host:b; daemon daemon:X; roles dind, dood; state running;"
            " name web-*; label tier=front",
        ),
    ],
)
def test_scope_summary_names_every_filter(team, filters, summary) -> None:
    assert Dashboard(team=team, filters=filters).scope_summary() == summary


def test_an_exposure_scope_is_public_or_socket_and_saved_from_the_form(team) -> None:
    from django.core.exceptions import ValidationError

    from topology.dashboards.models import validate_filters

    validate_filters({"exposure": ["public", "socket"]})
    with pytest.raises(ValidationError, match="exposure is a list of: public, socket"):
        validate_filters({"exposure": ["everywhere"]})
    admin = member(team, "admin", "exposure-admin")
    response = admin.post(
        "/dashboards/new/",
        {"name": "Exposed", "team": team.pk, "layout": "nested", "exposure": ["public"],
         "tiles": ["exposure"]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = Dashboard.objects.get(name="Exposed")
    assert saved.filters == {"exposure": ["public"]} and saved.tiles == ["exposure"]


def test_the_page_says_the_scope_as_text(team) -> None:
    dashboard = Dashboard.objects.create(
        name="Wall",
        team=team,
        filters={"roles": ["dind", "dood"], "states": ["running"], "name": "<b>web</b>"},
    )
    viewer = member(team, "viewer")
    html = viewer.get(f"/?dashboard={dashboard.pk}").content.decode()
    assert (
        "Dashboard scope: roles dind, dood; state running; name &lt;b&gt;web&lt;/b&gt;</span>"
        in html
    )
    assert "<b>web</b>" not in html
    kiosk = viewer.get(f"/?dashboard={dashboard.pk}&kiosk=1").content.decode()
    assert "Dashboard scope" not in kiosk
    assert "Dashboard scope" not in viewer.get("/").content.decode()
    unscoped = Dashboard.objects.create(name="All", team=team)
    assert "Dashboard scope" not in viewer.get(f"/?dashboard={unscoped.pk}").content.decode()


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


# --- The graph page of a dashboard: kiosk, tiles, pinned positions ----------------------------

CHROME = (
    'class="topbar"',
    'id="filters"',
    'class="toolbar"',
    'id="legend"',
    'id="demo-panel"',
    "demos.js",
    'id="details"',
    'id="stale-banner"',
    'class="statusbar"',
    'id="save-positions"',
)


def page_config(response) -> dict:  # type: ignore[no-untyped-def]
    found = re.search(
        r'<script id="dashboard-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "the page carries no dashboard-config"
    return json.loads(found.group(1))


@pytest.fixture
def wall(team) -> Dashboard:
    return Dashboard.objects.create(
        name="Wall <ops>",
        team=team,
        filters={"roles": ["dind"]},
        tiles=["daemons", "containers", "roles", "last_change"],
        positions={"container:" + "a" * 64: {"x": 10, "y": -20.5}},
    )


def test_kiosk_page_is_the_graph_and_tiles_without_chrome(team, wall) -> None:
    viewer = member(team, "viewer")
    response = viewer.get(f"/dashboards/{wall.pk}/kiosk/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/?")
    html = response.content.decode()
    for chrome in CHROME:
        assert chrome not in html, chrome
    assert 'class="dashboard kiosk"' in html
    for part in ('id="graph"', 'id="tiles"', 'id="connection"', 'id="empty-state"'):
        assert part in html, part
    assert "Wall &lt;ops&gt;" in html and "Wall <ops>" not in html
    config = page_config(response)
    assert config["kiosk"] is True
    assert config["dashboard"] == {
        "id": str(wall.pk),
        "name": "Wall <ops>",
        "filters": {"roles": ["dind"]},
        "tiles": ["daemons", "containers", "roles", "last_change"],
        "positions": wall.positions,
        "maySavePositions": False,
    }
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_full_page_keeps_its_chrome_and_shows_tiles(team, wall) -> None:
    response = member(team, "viewer").get(f"/?dashboard={wall.pk}")
    html = response.content.decode()
    assert 'class="topbar"' in html and 'id="filters"' in html and 'id="tiles"' in html
    assert 'id="save-positions"' not in html
    assert page_config(response)["kiosk"] is False
    plain = member(team, "viewer", "viewer-2").get("/").content.decode()
    assert 'id="tiles"' not in plain


def test_kiosk_needs_a_session(team, wall) -> None:
    anonymous = Client()
    for url in (f"/dashboards/{wall.pk}/kiosk/", f"/?kiosk=1&dashboard={wall.pk}"):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert "Wall" not in anonymous.get("/login/").content.decode()


def test_another_teams_dashboard_is_not_shown(team, wall) -> None:
    outsider = member(None, "", "outsider")
    for url in (f"/?dashboard={wall.pk}", f"/?kiosk=1&dashboard={wall.pk}", "/?dashboard=nonsense"):
        response = outsider.get(url)
        assert response.status_code == 200
        assert page_config(response)["dashboard"] is None
        assert "Wall" not in response.content.decode()


def csrf_client(team: Team | None, role: str, name: str, superuser: bool = False) -> Client:
    """A logged-in client that enforces CSRF as a browser's requests are checked."""
    user = get_user_model().objects.create_user(
        name, password="a-long-pw-777", is_superuser=superuser
    )
    if team is not None:
        Membership.objects.create(team=team, user=user, role=role)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def dashboard_config(client: Client, dashboard: Dashboard) -> dict:
    """What the graph page tells its scripts about the dashboard (the CSRF token included)."""
    return page_config(client.get(f"/?dashboard={dashboard.pk}"))["dashboard"]


def patch_positions(client: Client, url: str, body: object, token: str | None) -> HttpResponse:
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


def test_team_admins_save_positions_from_the_page(team, wall) -> None:
    admin = csrf_client(team, "admin", "team-admin")
    config = dashboard_config(admin, wall)
    assert config["maySavePositions"] is True
    assert config["apiUrl"] == f"/api/dashboards/{wall.pk}/"
    html = admin.get(f"/?dashboard={wall.pk}").content.decode()
    assert 'id="save-positions"' in html
    positions = {
        "container:" + "b" * 64: {"x": 1.5, "y": 2},
        "socket-pin:daemon:X": {"x": 0, "y": 0},
    }

    refused = patch_positions(admin, config["apiUrl"], {"positions": positions}, None)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    saved = patch_positions(admin, config["apiUrl"], {"positions": positions}, config["csrfToken"])
    assert saved.status_code == 200, saved.content
    wall.refresh_from_db()
    assert wall.positions == positions
    assert wall.tiles == ["daemons", "containers", "roles", "last_change"]
    assert dashboard_config(admin, wall)["positions"] == positions

    site_admin = csrf_client(None, "", "site-admin", superuser=True)
    config = dashboard_config(site_admin, wall)
    assert config["maySavePositions"] is True
    again = patch_positions(site_admin, config["apiUrl"], {"positions": {}}, config["csrfToken"])
    assert again.status_code == 200
    wall.refresh_from_db()
    assert wall.positions == {}


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_members_who_are_not_team_admins_cannot_save_positions(team, wall, role) -> None:
    client = csrf_client(team, role, f"{role}-x")
    config = dashboard_config(client, wall)
    assert config["maySavePositions"] is False and "csrfToken" not in config
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else None
    if token is None:  # the page handed out no token: take one from the login form
        client.get("/login/")
        token = client.cookies["csrftoken"].value
    url = f"/api/dashboards/{wall.pk}/"
    response = patch_positions(client, url, {"positions": {"host:h": {"x": 1, "y": 1}}}, token)
    assert response.status_code == 403
    assert "team admin" in response.json()["detail"]
    wall.refresh_from_db()
    assert wall.positions == {"container:" + "a" * 64: {"x": 10, "y": -20.5}}


@pytest.mark.parametrize(
    "positions",
    [
        {"host:h": {"x": "10", "y": 2}},
        {"host:h": {"x": True, "y": 2}},
        {"host:h": {"x": 1}},
        {"host:h": {"x": 1, "y": 2, "z": 3}},
        {"host:h": [1, 2]},
        {"host:h": {"x": 1e300, "y": 0}},
        [{"x": 1, "y": 2}],
        {f"container:{n}": {"x": n, "y": n} for n in range(5001)},
    ],
    ids=["text", "bool", "missing-y", "extra-z", "list-point", "huge", "list", "too-many"],
)
def test_bad_positions_are_a_clear_400_and_lose_nothing(team, wall, positions) -> None:
    admin = csrf_client(team, "admin", "team-admin")
    config = dashboard_config(admin, wall)
    before = (wall.positions, wall.tiles, wall.filters, wall.name)
    response = patch_positions(
        admin, config["apiUrl"], {"positions": positions}, config["csrfToken"]
    )
    assert response.status_code == 400
    reasons = " ".join(response.json()["positions"])
    assert "{x, y}" in reasons or "At most 5000" in reasons
    wall.refresh_from_db()
    assert (wall.positions, wall.tiles, wall.filters, wall.name) == before


def test_broken_json_is_a_400_too(team, wall) -> None:
    admin = csrf_client(team, "admin", "team-admin")
    config = dashboard_config(admin, wall)
    response = admin.patch(
        config["apiUrl"],
        '{"positions": {"host:h": {"x": NaN, "y": 1}}}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=config["csrfToken"],
    )
    assert response.status_code == 400
    wall.refresh_from_db()
    assert wall.positions == {"container:" + "a" * 64: {"x": 10, "y": -20.5}}


def test_tiles_are_chosen_in_the_edit_form_and_keep_the_positions(team, wall) -> None:
    admin = member(team, "admin")
    form = admin.get(f"/dashboards/{wall.pk}/edit/").content.decode()
    for label in ("Daemons up / unreachable", "Containers by state", "DinD and DooD counts"):
        assert label in form
    assert form.count("checked") >= 4
    body = {"name": "Wall", "team": team.pk, "layout": "nested", "tiles": ["containers"]}
    assert admin.post(f"/dashboards/{wall.pk}/edit/", body).status_code == 302
    wall.refresh_from_db()
    assert wall.tiles == ["containers"]
    assert wall.positions == {"container:" + "a" * 64: {"x": 10, "y": -20.5}}
    assert page_config(admin.get(f"/?dashboard={wall.pk}"))["dashboard"]["tiles"] == ["containers"]

    refused = admin.post(f"/dashboards/{wall.pk}/edit/", {**body, "tiles": ["weather"]})
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    wall.refresh_from_db()
    assert wall.tiles == ["containers"]
