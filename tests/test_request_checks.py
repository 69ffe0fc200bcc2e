"""Requests refused before any view: NUL characters in the query string; pages without a login
(a redirect) and the API without credentials (REST framework's 401)."""

from __future__ import annotations

from django.test import Client

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
