import re

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"/healthz", "/login/", "/admin/login/", "/admin/logout/", "/logout/"}


def _concrete_paths(patterns, prefix: str = "") -> list[str]:
    paths = []
    for pattern in patterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$")
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
        route = re.sub(r"<int:\w+>", "1", route)
        route = re.sub(r"<(?:str|slug|path|uuid):\w+>|<\w+>", "x", route)
        route = route.replace("\\", "").replace("/?", "/")
        if isinstance(pattern, URLResolver):
            paths += _concrete_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            paths.append("/" + prefix + route)
    return sorted(set(paths))


def test_every_url_needs_a_login(db) -> None:
    client = Client()
    paths = [p for p in _concrete_paths(get_resolver().url_patterns) if p not in PUBLIC]
    assert "/" in paths and "/admin/" in paths
    for path in paths:
        response = client.get(path)
        if response.status_code in (301, 302):
            assert "login" in response["Location"], path
        else:
            assert response.status_code in (401, 403, 404, 405), (path, response.status_code)
            assert response.status_code != 200, path


def test_login_page_uses_project_template(db) -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    assert "registration/login.html" in [t.name for t in response.templates]
    assert b"Topology" in response.content


def test_logged_in_user_sees_index(logged_in_client) -> None:
    assert logged_in_client.get("/").status_code == 200


@pytest.mark.docker
def test_healthz_all_ok(db) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "redis": "ok", "docker": "ok"}


@pytest.mark.docker
def test_healthz_names_redis_when_it_is_stopped(db, private_redis) -> None:
    url, process = private_redis
    with override_settings(REDIS_URL=url, TOPOLOGY_HEALTH_TIMEOUT=0.5):
        assert Client().get("/healthz").status_code == 200
        process.kill()
        process.wait()
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"db": "ok", "redis": "error", "docker": "ok"}


@pytest.mark.docker
def test_healthz_names_docker_when_no_engine_answers(db, tmp_path) -> None:
    with override_settings(DOCKER_HOST=f"unix://{tmp_path}/nothing.sock"):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["docker"] == "error"
