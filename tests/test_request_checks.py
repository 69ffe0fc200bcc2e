"""Requests refused before any view: NUL characters in the query string."""

from __future__ import annotations


def test_a_nul_character_in_the_query_string_is_a_400(logged_in_client) -> None:
    response = logged_in_client.get("/api/containers/", {"name": "web\x00"})
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert logged_in_client.get("/api/containers/", {"name": "web"}).status_code == 200
