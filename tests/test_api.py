"""GET /api/topology/: the graph for browsers (session) and scripts (token)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.graph_schema import validate_graph
from topology.inventory import polling


def test_anonymous_is_refused(db) -> None:
    response = Client().get("/api/topology/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert b"nodes" not in response.content


def test_bad_token_is_refused(db) -> None:
    response = Client().get("/api/topology/", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_token_and_session_get_the_graph(world, user) -> None:
    polling.poll_everything(publish=False)
    token = Token.objects.create(user=user)
    by_token = Client().get("/api/topology/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_token.status_code == 200
    validate_graph(by_token.json())
    session = Client()
    session.force_login(user)
    by_session = session.get("/api/topology/")
    assert by_session.status_code == 200
    assert {n["id"] for n in by_session.json()["nodes"]} == {
        n["id"] for n in by_token.json()["nodes"]
    }
