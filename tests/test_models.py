import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from topology.inventory.models import Container, Daemon, Endpoint, Host

HEX = "a" * 64


@pytest.fixture
def host(db) -> Host:
    return Host.objects.create(slug="build-01", name="build-01")


@pytest.fixture
def daemon(host: Host) -> Daemon:
    return Daemon.objects.create(engine_id="ENGINE:ONE", host=host, endpoint="unix:///x.sock")


def test_daemon_is_unique_by_engine_id(host: Host, daemon: Daemon) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Daemon.objects.create(engine_id="ENGINE:ONE", host=host, endpoint="tcp://other:2376")


def test_daemon_needs_a_host_or_a_container(db) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Daemon.objects.create(engine_id="ENGINE:LOST", endpoint="unix:///x.sock")


def test_nested_daemon_points_at_its_container(daemon: Daemon) -> None:
    dind = Container.objects.create(
        daemon=daemon, container_id=HEX, name="dind", image="docker:dind", state="running"
    )
    nested = Daemon.objects.create(
        engine_id="ENGINE:NESTED", container=dind, endpoint="unix:///n.sock", nesting=1
    )
    assert dind.nested_daemon == nested
    with pytest.raises(IntegrityError), transaction.atomic():
        Daemon.objects.create(engine_id="ENGINE:TWIN", container=dind, endpoint="unix:///t.sock")


def test_a_container_id_is_one_row_whatever_daemon_lists_it(daemon: Daemon) -> None:
    other = Daemon.objects.create(engine_id="ENGINE:OTHER", host=daemon.host, endpoint="unix:///o")
    Container.objects.create(daemon=daemon, container_id=HEX, name="c1", image="i", state="running")
    for owner in (daemon, other):
        with pytest.raises(IntegrityError), transaction.atomic():
            Container.objects.create(
                daemon=owner, container_id=HEX, name="c1-again", image="i", state="running"
            )


def test_container_id_must_be_full_hex(daemon: Daemon) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Container.objects.create(
            daemon=daemon, container_id="abc123", name="short", image="i", state="running"
        )


def test_removing_a_dind_container_removes_what_ran_inside(daemon: Daemon) -> None:
    dind = Container.objects.create(
        daemon=daemon, container_id=HEX, name="dind", image="docker:dind", state="running"
    )
    nested = Daemon.objects.create(
        engine_id="ENGINE:NESTED", container=dind, endpoint="unix:///n.sock", nesting=1
    )
    Container.objects.create(
        daemon=nested, container_id="b" * 64, name="c3", image="i", state="running"
    )
    dind.delete()
    assert not Daemon.objects.filter(engine_id="ENGINE:NESTED").exists()
    assert not Container.objects.filter(name="c3").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "http://x:2375"}, "unix://"),
        ({"url": "tcp://10.1.2.3:2375"}, "Plain tcp:// is refused"),
        ({"url": "tcp://x:2376", "tls_client_cert": "PEM"}, "needs its key"),
        ({"url": "unix:///s.sock", "tls_ca_cert": "PEM"}, "only apply to tcp"),
    ],
)
def test_endpoint_validation(db, fields: dict, message: str) -> None:
    endpoint = Endpoint(name="e", **fields)
    with pytest.raises(ValidationError, match=message):
        endpoint.full_clean()


def test_plain_tcp_allowed_when_marked_insecure(db) -> None:
    Endpoint(name="lab", url="tcp://10.1.2.3:2375", insecure=True).full_clean()
