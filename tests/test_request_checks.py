"""Requests refused before any view: NUL characters in the query string; pages without a login
(a redirect) and the API without credentials (REST framework's 401)."""

from __future__ import annotations

import pytest
from django.test import Client

from topology.api_limits import BoundedLimitOffsetPagination, nesting_depth
from topology.dashboards.api.views import DashboardViewSet
from topology.inventory.api.views import TopologyView
from topology.request_checks import is_api_view
from topology.views import healthz, index


def test_a_nul_character_in_the_query_string_is_a_400(logged_in_client) -> None:
    response = logged_in_client.get("/api/containers/", {"name": "web\x00"})
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert logged_in_client.get("/api/containers/", {"name": "web"}).status_code == 200


def test_rest_framework_views_are_known_as_api_views() -> None:
    assert is_api_view(TopologyView.as_view())
    assert is_api_view(DashboardViewSet.as_view({"get": "list"}))
    assert not is_api_view(index) and not is_api_view(healthz)


def test_a_page_sends_strangers_to_the_login_form_and_the_api_asks_for_credentials(db) -> None:
    page = Client().get("/teams/")
    assert page.status_code == 302 and page["Location"] == "/login/?next=/teams/"
    api = Client().get("/api/topology/")
    assert api.status_code == 401 and api["WWW-Authenticate"] == "Token"
    assert Client().get("/api/topology/", HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_a_token_opens_the_api_but_no_page(user) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=user).key
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/topology/").status_code == 200
    assert client.get("/teams/").status_code == 302  # pages go by session only


def test_every_value_of_a_repeated_key_is_checked(logged_in_client) -> None:
    for query in ("name=web&name=db%00", "name=web%00&name=db", "a=1&name=x&name=y&name=%00"):
        response = logged_in_client.get(f"/api/containers/?{query}")
        assert response.status_code == 400, query
    assert logged_in_client.get("/api/containers/?name=web&name=db").status_code == 200


@pytest.mark.parametrize("depth", [33, 5_000, 200_000])
def test_a_json_body_nested_too_deep_is_a_400(logged_in_client, depth: int) -> None:
    """A body nested deeper than the parser can follow used to be a RecursionError (500);
    anything past 32 levels is refused before a view sees it."""
    body = "[" * depth + "]" * depth
    response = logged_in_client.post("/api/dashboards/", body, content_type="application/json")
    assert response.status_code == 400 and "nested deeper" in response.json()["detail"]
    nested_filters = '{"name": "x", "team": "t", "filters": ' + "[" * 40 + "]" * 40 + "}"
    response = logged_in_client.post(
        "/api/dashboards/", nested_filters, content_type="application/json"
    )
    assert response.status_code == 400


def test_the_depth_of_json_is_counted_without_recursion() -> None:
    assert nesting_depth(1) == 0 and nesting_depth([]) == 1 and nesting_depth({"a": [1]}) == 2
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep) == 100_001


def test_a_page_holds_at_most_max_limit_rows(admin_user) -> None:  # type: ignore[no-untyped-def]
    from topology.inventory.models import Daemon, Host

    host = Host.objects.create(slug="h", name="h")
    Daemon.objects.bulk_create(
        Daemon(engine_id=f"E{i}", host=host, endpoint="unix:///x") for i in range(1005)
    )
    client = Client()
    client.force_login(admin_user)
    page = client.get("/api/daemons/?limit=1000000000").json()
    assert page["count"] == 1005 and len(page["results"]) == BoundedLimitOffsetPagination.max_limit
    assert len(client.get("/api/daemons/?limit=10").json()["results"]) == 10
