"""Registered engines over tcp:// with TLS client certificates: a real dockerd (nested in a
DinD container) listening with --tlsverify on a loopback port."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import MANAGED, Cleanup, free_port, remove_dind, unique
from tests.tls_material import make_authority
from topology.engine import dind
from topology.engine.connection import EngineAddress, EngineError, TLSMaterial, ping
from topology.inventory import polling
from topology.inventory.models import Daemon, Endpoint, Host

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def tls_engine(docker_client, offline_images):  # type: ignore[no-untyped-def]
    """``(url, authority)`` of a dockerd that only answers TLS clients signed by ``authority``."""
    authority = make_authority()
    undo = Cleanup()
    folder = Path(tempfile.mkdtemp(prefix="topology-tls-"))
    undo.add(shutil.rmtree, folder, True)
    for name, text in {
        "ca.pem": authority.ca.cert,
        "server.pem": authority.server.cert,
        "server-key.pem": authority.server.key,
    }.items():
        (folder / name).write_text(text)
    port = free_port()
    try:
        container, _profile = dind.run_dind(
            docker_client,
            name=unique("tls"),
            labels=MANAGED,
            socket_dir=str(folder / "run"),
            volume=None,
            command=[
                "--tlsverify",
                "--tlscacert=/certs/ca.pem",
                "--tlscert=/certs/server.pem",
                "--tlskey=/certs/server-key.pem",
                "--host=tcp://0.0.0.0:2376",
            ],
            extra_volumes={str(folder): {"bind": "/certs", "mode": "ro"}},
            ports={"2376/tcp": ("127.0.0.1", port)},
        )
        undo.add(remove_dind, container)
        url = f"tcp://127.0.0.1:{port}"
        material = TLSMaterial(authority.ca.cert, authority.client.cert, authority.client.key)
        deadline = time.monotonic() + 60
        while True:
            try:
                ping(EngineAddress(url, tls=material, tls_dir=folder / "client"))
                break
            except EngineError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield url, authority
    finally:
        undo.run()


def test_registered_tls_engine_is_discovered(tls_engine) -> None:
    url, authority = tls_engine
    host = Host.objects.create(slug="tls-lab", name="tls-lab")
    endpoint = Endpoint(
        name="tls",
        url=url,
        host=host,
        tls_ca_cert=authority.ca.cert,
        tls_client_cert=authority.client.cert,
        tls_client_key=authority.client.key,
    )
    endpoint.full_clean()
    endpoint.save()
    results = polling.poll_everything(publish=False)
    by_url = {r.target.route.url: r for r in results}
    assert by_url[url].error is None
    daemon = Daemon.objects.get(engine_id=by_url[url].engine_id)
    assert daemon.access == "tcp" and daemon.host == host and daemon.registered_endpoint == endpoint


def test_a_client_certificate_from_another_authority_is_refused(tls_engine) -> None:
    url, authority = tls_engine
    stranger = make_authority("someone-else")
    material = TLSMaterial(authority.ca.cert, stranger.client.cert, stranger.client.key)
    with pytest.raises(EngineError):
        ping(EngineAddress(url, tls=material, tls_dir=Path(tempfile.mkdtemp())))


def test_plain_tcp_to_a_tls_engine_is_refused_before_any_traffic(tls_engine) -> None:
    url, _authority = tls_engine
    with pytest.raises(EngineError, match="plain tcp:// is refused"):
        ping(EngineAddress(url))
