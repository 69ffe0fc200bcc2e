import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from tests.conftest import free_port, route_samples, sshd, start_dind, unique
from topology.inventory.models import Endpoint
from topology.request_checks import is_api_view
from topology.teams.models import Membership, Team

# Open to anyone: the login form, logging out, and the health check for probes.
PUBLIC = {"login", "logout", "healthz"}


def test_every_route_is_named_once_and_reached_by_its_sample_path(db) -> None:
    """A route's sample path (a valid value for each parameter) resolves to that very route,
    so the login check below runs in it, not in a 404 of the resolver."""
    samples = route_samples()
    names = {sample.name for sample in samples}
    assert {"index", "admin:index", "dashboard", "api-demo", "host-detail"} <= names
    views_by_name: dict[str, set] = {}
    for sample in samples:
        views_by_name.setdefault(sample.name, set()).add(sample.view)
    shared = {name: views for name, views in views_by_name.items() if len(views) > 1}
    assert not shared, f"one name for several routes: {shared}"


def test_every_route_needs_a_login(db) -> None:
    """Anonymous requests, by every method: a page redirects to the login form, the API
    answers 401 (REST framework asks for a token or a session)."""
    client = Client()
    for sample in route_samples():
        if sample.name in PUBLIC:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(sample.path)
            where = (method, sample.path, response.status_code)
            if is_api_view(sample.view):
                assert response.status_code == 401, where
            else:
                assert response.status_code == 302, where
                assert response["Location"].split("?")[0] in ("/login/", "/admin/login/"), where


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


def _team_member(role: str | None, *, superuser: bool = False) -> tuple[Client, Team]:
    team, _ = Team.objects.get_or_create(slug="ops", defaults={"name": "Ops"})
    user = get_user_model().objects.create_user(f"u-{role}-{superuser}", is_superuser=superuser)
    if role:
        Membership.objects.create(team=team, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client, team


def _upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode())


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("operator", 403), ("admin", 200)])
def test_only_team_admins_open_the_engine_form(db, role: str, status: int) -> None:
    client, team = _team_member(role)
    assert client.get(f"/teams/{team.slug}/engines/new/").status_code == status


def test_the_engine_form_refuses_bad_input_clearly_and_keeps_what_was_typed(db) -> None:
    client, team = _team_member("admin")
    page = f"/teams/{team.slug}/engines/new/"
    cases = [
        ({"url": "http://lab:2375"}, "Use unix://, tcp:// or ssh://."),
        ({"url": "tcp://127.0.0.1:9"}, "Plain tcp:// is refused"),
        ({"url": "ssh://lab"}, "ssh://user@host"),
        ({"url": "ssh://ops@127.0.0.1:9"}, "An ssh:// engine needs a private key."),
        (
            {"url": "ssh://ops@127.0.0.1:9", "ssh_private_key": _upload("id", "not a key")},
            "Ed25519, ECDSA or RSA private key",
        ),
        (
            {"url": "tcp://127.0.0.1:9", "tls_client_key": _upload("key.pem", "x" * 70_000)},
            "over 64 KiB",
        ),
        (
            {"url": "tcp://127.0.0.1:9", "tls_client_key": _upload("key.pem", "PEM\x00")},
            "Client key (PEM): the file is not a text (PEM or OpenSSH) file.",
        ),
        ({"url": f"tcp://127.0.0.1:{free_port()}", **_tls_uploads()}, "The engine did not answer"),
    ]
    for fields, message in cases:
        response = client.post(page, {"name": "lab-engine", **fields})
        text = response.content.decode()
        assert response.status_code == 200 and message in text, (fields, text[-3000:])
        assert 'value="lab-engine"' in text
    assert not Endpoint.objects.exists()


def test_a_local_socket_is_a_site_admins_to_register(db) -> None:
    """A team admin is refused a unix:// engine before anything is connected to; a site admin
    may register one (here it does not answer, and says so)."""
    client, team = _team_member("admin")
    page = f"/teams/{team.slug}/engines/new/"
    for url in ("unix:///var/run/docker.sock", "unix:///run/user/1000/docker.sock"):
        response = client.post(page, {"name": "mine", "url": url})
        assert response.status_code == 403
    site_admin, _team = _team_member(None, superuser=True)
    response = site_admin.post(page, {"name": "mine", "url": "unix:///nonexistent/podman.sock"})
    assert "The engine did not answer" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_insecure_tcp_is_a_site_admin_choice(db) -> None:
    client, team = _team_member("admin")
    page = f"/teams/{team.slug}/engines/new/"
    assert 'name="insecure"' not in client.get(page).content.decode()
    response = client.post(page, {"name": "x", "url": "tcp://127.0.0.1:9", "insecure": "on"})
    assert "Plain tcp:// is refused" in response.content.decode()
    site_admin, _team = _team_member(None, superuser=True)
    assert 'name="insecure"' in site_admin.get(page).content.decode()


def _tls_uploads() -> dict[str, SimpleUploadedFile]:
    from tests.tls_material import make_authority

    authority = make_authority()
    return {
        "tls_ca_cert": _upload("ca.pem", authority.ca.cert),
        "tls_client_cert": _upload("cert.pem", authority.client.cert),
        "tls_client_key": _upload("key.pem", authority.client.key),
    }


@pytest.fixture
def ssh_to_another_engine(docker_client, offline_images, cleanup):  # type: ignore[no-untyped-def]
    """An engine the map does not know yet (a DinD's daemon), over ssh:// (the key's forced
    command dials its socket)."""
    nested = start_dind(docker_client, cleanup, unique("ssh-target"))
    with sshd(f"unix://{nested.socket_dir}/docker.sock") as engine:
        yield engine


@pytest.mark.docker
def test_a_team_admin_registers_an_ssh_engine_from_the_form(db, ssh_to_another_engine) -> None:
    engine = ssh_to_another_engine
    client, team = _team_member("admin")
    response = client.post(
        f"/teams/{team.slug}/engines/new/",
        {
            "name": "over-ssh",
            "url": engine.url,
            "ssh_private_key": _upload("id_ed25519", engine.private_key),
            "ssh_known_hosts": engine.known_hosts,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    endpoint = Endpoint.objects.get(name="over-ssh")
    assert endpoint.team == team and "PRIVATE KEY" in endpoint.ssh_private_key
    home = client.get(f"/teams/{team.slug}/").content.decode()
    assert "over-ssh" in home and engine.url in home and "PRIVATE KEY" not in home


@pytest.mark.docker
def test_the_local_engine_over_ssh_is_refused_as_already_known(db, ssh_engine) -> None:
    """The same engine by another way in (ssh to this machine) is the local engine."""
    client, team = _team_member("admin")
    response = client.post(
        f"/teams/{team.slug}/engines/new/",
        {
            "name": "over-ssh",
            "url": ssh_engine.url,
            "ssh_private_key": _upload("id_ed25519", ssh_engine.private_key),
            "ssh_known_hosts": ssh_engine.known_hosts,
        },
    )
    text = response.content.decode()
    assert response.status_code == 200 and "the local engine (DOCKER_HOST)" in text
    assert not Endpoint.objects.exists()


@pytest.mark.docker
def test_a_refused_key_is_said_plainly(db, ssh_engine, tmp_path) -> None:
    client, team = _team_member("admin")
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    response = client.post(
        f"/teams/{team.slug}/engines/new/",
        {
            "name": "over-ssh",
            "url": ssh_engine.url,
            "ssh_private_key": _upload("id", stranger.read_text()),
            "ssh_known_hosts": ssh_engine.known_hosts,
        },
    )
    text = response.content.decode()
    assert "The connection test failed" in text and "refused the ssh key" in text
    assert "Choose the files again" in text and not Endpoint.objects.exists()


def test_the_engine_form_says_what_is_wrong_with_uploaded_certificates(db) -> None:
    from tests.tls_material import make_authority

    client, team = _team_member("admin")
    authority, stranger = make_authority(), make_authority("someone-else")
    response = client.post(
        f"/teams/{team.slug}/engines/new/",
        {
            "name": "tls-lab",
            "url": "tcp://127.0.0.1:9",
            "tls_ca_cert": _upload("ca.pem", "not a certificate"),
            "tls_client_cert": _upload("cert.pem", authority.client.cert),
            "tls_client_key": _upload("key.pem", stranger.client.key),
        },
    )
    text = response.content.decode()
    assert "The CA certificate is not a PEM certificate" in text
    assert "The client key is not the key of the client certificate." in text
    assert not Endpoint.objects.exists()
