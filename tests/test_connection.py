"""Opening clients: refusals, timeouts and API versions, each a per-daemon error."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fake_engine import FakeEngine
from tests.tls_material import make_authority
from topology.engine.connection import (
    EngineAddress,
    EngineError,
    EngineUnreachable,
    TLSMaterial,
    open_client,
    ping,
    tls_material_problems,
)
from topology.engine.reading import open_reader
from topology.engine.types import Route


def test_plain_tcp_is_refused_unless_marked_insecure() -> None:
    with pytest.raises(EngineError, match="plain tcp:// is refused"):
        open_client(EngineAddress("tcp://127.0.0.1:9"))


def test_missing_socket_is_unreachable(tmp_path) -> None:
    with pytest.raises(EngineUnreachable, match="no answer"):
        ping(EngineAddress(f"unix://{tmp_path}/none.sock"))


def test_insecure_tcp_with_nothing_listening_is_unreachable_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(EngineUnreachable):
        ping(EngineAddress("tcp://127.0.0.1:9", insecure=True, connect_timeout=0.5))
    assert time.monotonic() - started < 5


def test_tls_material_is_written_privately(tmp_path) -> None:
    material = TLSMaterial("CA", "CERT", "KEY")
    address = EngineAddress("tcp://127.0.0.1:9", tls=material, tls_dir=tmp_path)
    with pytest.raises(EngineError):
        open_client(address)
    files = list(tmp_path.rglob("*.pem"))
    assert {f.name for f in files} == {"ca.pem", "cert.pem", "key.pem"}
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)


def test_engine_too_old_is_an_error_not_a_crash(tmp_path) -> None:
    with (
        FakeEngine(tmp_path / "old.sock", api_version="1.12") as fake,
        pytest.raises(EngineError, match=r"1\.24|not supported|API version"),
    ):
        open_reader(Route(fake.url)).info()


def test_engine_newer_than_the_sdk_is_spoken_to_at_its_own_version(tmp_path) -> None:
    with FakeEngine(tmp_path / "new.sock", api_version="1.99") as fake:
        reader = open_reader(Route(fake.url))
        info = reader.info()
        reader.close()
    assert info.api_version == "1.99" and info.engine_id == "FAKE:ENGINE"


def test_hanging_engine_times_out(tmp_path) -> None:
    with FakeEngine(tmp_path / "slow.sock", hang=5) as fake:
        reader = open_reader(Route(fake.url), read_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(EngineUnreachable):
            reader.info()
        reader.close()
    assert time.monotonic() - started < 4


def test_tls_material_is_checked_before_any_connection() -> None:
    authority, stranger = make_authority(), make_authority("someone-else")
    good = TLSMaterial(authority.ca.cert, authority.client.cert, authority.client.key)
    assert tls_material_problems(good) == {}
    garbage = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"
    problems = tls_material_problems(
        TLSMaterial(garbage, authority.client.cert, stranger.client.key)
    )
    assert problems == {
        "ca_cert": "The CA certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----).",
        "client_key": "The client key is not the key of the client certificate.",
    }
    assert "not a PEM private key" in tls_material_problems(
        TLSMaterial("", authority.client.cert, "-----BEGIN PRIVATE KEY-----\nx\n")
    ).get("client_key", "")
    later = datetime.now(UTC) + timedelta(days=2)
    assert "expired on" in tls_material_problems(good, now=later)["client_cert"]
