"""Docker CLI contexts offered as engines: the registration rules of the page, a listing that
registers nothing, picking, a real registration after its connection test (the command)."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.conftest import docker_context_create, start_dind, unique
from topology.engine.contexts import read_contexts
from topology.inventory.context_import import offer
from topology.inventory.models import Endpoint
from topology.teams.models import Membership, Team


@pytest.fixture
def ops(db) -> Team:
    return Team.objects.create(slug="ops", name="Ops")


@pytest.fixture
def team_admin(ops):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user("alice")
    Membership.objects.create(team=ops, user=user, role="admin")
    return user


def run(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("import_docker_contexts", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_a_team_admin_is_offered_only_what_the_page_would_let_them_register(
    cli_contexts, ops, team_admin, admin_user, tmp_path
) -> None:
    config, tls = cli_contexts
    docker_context_create(config, "plain", "host=tcp://10.0.0.9:2375")
    contexts, _problems = read_contexts(config)
    offers = {c.name: offer(c, team_admin, ops) for c in contexts}
    assert "only a site admin" in offers["local"].refusal
    assert "plain tcp:// without TLS" in offers["plain"].refusal
    assert "holds no private key" in offers["build-box"].refusal
    lab = offers["lab-tls"]
    assert lab.refusal is None and lab.tls
    assert lab.fields["tls_client_key"] == tls["key"].read_text()
    assert lab.fields["tls_ca_cert"] == tls["ca"].read_text() and lab.fields["team"] == ops
    assert lab.fields["insecure"] is False
    site = {c.name: offer(c, admin_user, ops) for c in contexts}
    assert site["local"].refusal is None and site["local"].fields["tls_ca_cert"] == ""
    assert "--allow-insecure" in site["plain"].refusal
    insecure = {c.name: offer(c, admin_user, ops, allow_insecure=True) for c in contexts}
    assert insecure["plain"].fields["insecure"] is True
    assert offer(contexts[0], team_admin, ops, allow_insecure=True).refusal  # not a site admin's


def test_the_listing_registers_nothing_and_says_what_each_context_would_be(
    cli_contexts, ops, team_admin
) -> None:
    config, _tls = cli_contexts
    bad = config / "contexts" / "meta" / hashlib.sha256(b"broken").hexdigest()
    bad.mkdir()
    (bad / "meta.json").write_text("{oops")
    out, error = run(str(config), "--team", "ops", "--as", "alice")
    assert error is None, out
    assert "lab-tls: tcp://127.0.0.1:23760 (TLS): to register" in out
    assert "local: unix:///var/run/docker.sock: refused: A local socket" in out
    assert "build-box: ssh://ci@build.example:2222: refused" in out
    assert f"{bad.name}: unreadable: meta.json is not JSON" in out
    assert "Nothing registered" in out and "BEGIN" not in out
    assert not Endpoint.objects.exists()


def test_only_a_team_admin_of_that_team_imports(cli_contexts, ops, team_admin) -> None:
    config, _tls = cli_contexts
    get_user_model().objects.create_user("bob")
    for who, team in (("bob", "ops"), ("alice", "nope"), ("nobody", "ops")):
        _out, error = run(str(config), "--team", team, "--as", who)
        assert error is not None and "is not a team admin" in str(error)
    _out, error = run(str(config), "--as", "alice")
    assert error is not None and "alice is not a site admin: name a --team" in str(error)
    _out, error = run(str(config / "nowhere"), "--team", "ops", "--as", "alice")
    assert error is not None and "holds no Docker contexts" in str(error)


def test_registering_tests_each_connection_and_keeps_the_tls_material(
    cli_contexts, ops, team_admin
) -> None:
    """lab-tls's TLS material is valid but nothing listens there: it is not registered, and the
    refusal says so; a picked context that is refused or unknown fails the command."""
    config, _tls = cli_contexts
    out, error = run(str(config), "--team", "ops", "--as", "alice", "--register")
    assert error is not None
    assert "lab-tls: not registered: The engine did not answer" in out
    assert not Endpoint.objects.exists()
    out, error = run(
        str(config), "--team", "ops", "--as", "alice", "--register", "--context", "nope"
    )
    assert error is not None and "nope: no such context" in out


@pytest.mark.docker
@pytest.mark.django_db(transaction=True)
def test_a_site_admin_registers_a_picked_context_after_its_connection_test(
    cli_contexts, admin_user, docker_client, offline_images, cleanup
) -> None:
    """A context for a DinD's daemon (an engine the map does not know yet) is registered; the
    local engine's context is refused, being already on the map (the ownership rule)."""
    config, _tls = cli_contexts
    nested = start_dind(docker_client, cleanup, unique("context-dind"))
    url = f"unix://{nested.socket_dir}/docker.sock"
    docker_context_create(config, "dind", f"host={url}")
    Team.objects.create(slug="ops", name="Ops")
    out, error = run(
        str(config), "--team", "ops", "--as", "boss", "--register", "--context", "local"
    )
    assert error is not None and "local: not registered: This engine is the local engine" in out
    out, error = run(
        str(config), "--team", "ops", "--as", "boss", "--register", "--context", "dind"
    )
    assert error is None, out
    assert "dind: registered" in out and "lab-tls: tcp://127.0.0.1:23760 (TLS): not picked" in out
    endpoint = Endpoint.objects.get()
    assert (endpoint.name, endpoint.url, endpoint.team.slug) == ("dind", url, "ops")
    out, error = run(str(config), "--as", "boss", "--context", "dind")
    assert error is None and "for no team" in out and "already registered, as 'dind'" in out
