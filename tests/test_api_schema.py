"""The OpenAPI schema: valid, served to logged-in users only, and fuzzed (never a 500)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from topology.teams.models import Membership, Team

pytestmark = pytest.mark.django_db(transaction=True)
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
SKIPPED = {("POST", "/api/demos/")}  # launches real demos; covered by tests/test_demos_api.py


def test_schema_and_docs_need_a_login(user) -> None:
    assert Client().get("/api/schema/").status_code == 401
    client = Client()
    client.force_login(user)
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/hosts/", "/api/daemons/", "/api/containers/", "/api/dashboards/"} <= set(
        schema["paths"]
    )
    assert {"/api/topology/", "/api/demos/"} <= set(schema["paths"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_fuzzed_api_never_answers_500(user) -> None:
    team = Team.objects.create(slug="fuzz", name="Fuzz")
    Membership.objects.create(team=team, user=user, role="admin")
    token = Token.objects.create(user=user)
    auth = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=auth
    )
    failures: list[str] = []
    calls: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (
            operation.method.upper() not in METHODS
            or (
                operation.method.upper(),
                operation.path,
            )
            in SKIPPED
        ):
            continue

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=auth)
            calls.append(case.method)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        check()
    assert len(calls) > 50 and {"GET", "POST", "PATCH", "DELETE"} <= set(calls)
    assert failures == []
