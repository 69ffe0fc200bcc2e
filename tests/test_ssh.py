"""ssh:// engines: a live sshd on loopback in front of this machine's engine, each engine with
its own key and host key, and nothing from the server user's ~/.ssh."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import SshEngine, run_workload, unique
from topology.engine.connection import EngineAddress, EngineError, SSHMaterial, ping
from topology.engine.reading import open_reader
from topology.engine.ssh import load_private_key, parse_known_hosts, sessions
from topology.engine.types import Route
from topology.inventory import polling
from topology.inventory.models import Daemon, Endpoint
from topology.teams.models import Membership, Team


def another_key(folder: Path, name: str) -> tuple[str, str]:
    path = folder / name
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text(), (path.with_suffix(".pub")).read_text().strip()


def test_keys_and_host_lines_are_checked_before_any_connection(tmp_path) -> None:
    key, public = another_key(tmp_path, "key")
    assert load_private_key(key).get_name() == "ssh-ed25519"
    with pytest.raises(EngineError, match="needs a private key"):
        load_private_key("")
    with pytest.raises(EngineError, match="not an Ed25519, ECDSA or RSA private key"):
        load_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n")
    kind, blob = public.split()[:2]
    assert parse_known_hosts(f"# comment\n[lab]:2222 {kind} {blob}\n")[0].hostnames == [
        "[lab]:2222"
    ]
    with pytest.raises(EngineError, match="ssh-keyscan"):
        parse_known_hosts("")
    with pytest.raises(EngineError, match="line 1 is not a host key line"):
        parse_known_hosts("lab ssh-ed25519 not-base64!")


@pytest.mark.docker
def test_the_engine_is_read_over_ssh_with_its_own_key(
    ssh_engine: SshEngine, docker_client, offline_images, cleanup
) -> None:
    workload = run_workload(docker_client, cleanup, unique("over-ssh"))
    route = Route(
        ssh_engine.url,
        ssh_private_key=ssh_engine.private_key,
        ssh_known_hosts=ssh_engine.known_hosts,
    )
    reader = open_reader(route)
    try:
        assert reader.info().engine_id == docker_client.info()["ID"]
        listed = {c.id: c for c in reader.list_containers()}
        assert listed[workload.id].name == workload.name
    finally:
        reader.close()


@pytest.mark.docker
def test_an_unknown_or_changed_host_key_is_refused(ssh_engine: SshEngine, tmp_path) -> None:
    port = ssh_engine.url.rsplit(":", 1)[1]
    _key, impostor = another_key(tmp_path, "impostor")
    kind, blob = impostor.split()[:2]
    changed = SSHMaterial(ssh_engine.private_key, f"[127.0.0.1]:{port} {kind} {blob}\n")
    with pytest.raises(EngineError, match=r"host key of root@127\.0\.0\.1 is not the one given"):
        ping(EngineAddress(ssh_engine.url, ssh=changed))
    elsewhere = SSHMaterial(ssh_engine.private_key, ssh_engine.known_hosts.replace(port, "22"))
    with pytest.raises(EngineError, match=r"no host key given for root@127\.0\.0\.1 matches"):
        ping(EngineAddress(ssh_engine.url, ssh=elsewhere))
    with pytest.raises(EngineError, match="needs a private key and its host key"):
        ping(EngineAddress(ssh_engine.url))


@pytest.mark.docker
def test_a_key_the_server_does_not_know_is_refused(ssh_engine: SshEngine, tmp_path) -> None:
    stranger, _public = another_key(tmp_path, "stranger")
    with pytest.raises(EngineError, match="refused the ssh key"):
        ping(EngineAddress(ssh_engine.url, ssh=SSHMaterial(stranger, ssh_engine.known_hosts)))


@pytest.mark.docker
def test_the_server_users_ssh_folder_is_not_used(ssh_engine: SshEngine, monkeypatch) -> None:
    home = ssh_engine.folder / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "config").write_text("Host 127.0.0.1\n  ProxyCommand false\n")
    monkeypatch.setenv("HOME", str(home))
    sessions.close_all()  # log in afresh, with that config in reach
    material = SSHMaterial(ssh_engine.private_key, ssh_engine.known_hosts)
    ping(EngineAddress(ssh_engine.url, ssh=material))


@pytest.mark.docker
def test_polls_share_one_ssh_session_and_a_dead_one_is_replaced(ssh_engine: SshEngine) -> None:
    route = Route(
        ssh_engine.url,
        ssh_private_key=ssh_engine.private_key,
        ssh_known_hosts=ssh_engine.known_hosts,
    )

    def session_of_a_poll() -> object:
        reader = open_reader(route)
        try:
            reader.info()
            return reader.client.api._custom_adapter.ssh_client.get_transport()
        finally:
            reader.close()

    first = session_of_a_poll()
    assert session_of_a_poll() is first and first.is_active()  # closing a reader kept it
    first.close()
    replaced = session_of_a_poll()
    assert replaced is not first and replaced.is_active()


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_the_local_engine_over_ssh_is_refused_and_stays_one_daemon(
    ssh_engine: SshEngine, docker_client
) -> None:
    """The local engine reached over ssh is the engine already on the map: a team admin's
    registration of it is refused, saying so, and it stays one daemon (its engine ID)."""
    team = Team.objects.create(slug="ops", name="Ops")
    user = get_user_model().objects.create_user("ada")
    Membership.objects.create(team=team, user=user, role="admin")
    client = Client()
    client.force_login(user)
    body = {
        "name": "over-ssh",
        "team": "ops",
        "url": ssh_engine.url,
        "ssh_private_key": ssh_engine.private_key,
        "ssh_known_hosts": ssh_engine.known_hosts,
    }
    response = client.post("/api/daemons/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "already on the map" in response.content.decode()
    assert "PRIVATE KEY" not in response.content.decode()
    assert not Endpoint.objects.filter(name="over-ssh").exists()

    polling.poll_everything(publish=False)
    engine_id = docker_client.info()["ID"]
    assert Daemon.objects.filter(engine_id=engine_id).count() == 1
