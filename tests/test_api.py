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


def test_layers_cut_the_graph_and_an_unknown_one_is_a_400(admin_user) -> None:
    from tests.test_consumers import engine_with_networks, networked

    engine_with_networks(networked("a", "web"))
    client = Client()
    client.force_login(admin_user)
    whole = client.get("/api/topology/").json()
    validate_graph(whole)
    assert whole["contract"] == 2
    assert {"network"} <= {n["kind"] for n in whole["nodes"]}
    cut = client.get("/api/topology/?layers=containment,volumes").json()
    validate_graph(cut)
    assert "network" not in {n["kind"] for n in cut["nodes"]} | {e["kind"] for e in cut["edges"]}
    refused = client.get("/api/topology/?layers=wires")
    assert refused.status_code == 400 and "wires" in refused.json()["layers"][0]
    dot = client.get("/api/topology.dot?layers=networks").content.decode()
    assert "shape=hexagon" in dot and 'label="network 10.1.0.' in dot
    assert (
        "shape=hexagon" not in client.get("/api/topology.dot?layers=containment").content.decode()
    )
