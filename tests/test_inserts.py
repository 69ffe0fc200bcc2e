"""New rows in plain INSERTs: stored as ``bulk_create`` stores them, in batches the database's
parameter limit allows, each given its primary key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from topology.inventory import inserts
from topology.inventory.inserts import insert_rows
from topology.inventory.models import Container, Daemon, Host

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in Container._meta.concrete_fields if not f.primary_key]
COMPARED = [name for name in FIELDS if name not in {"daemon_id", "container_id"}]


def daemon(engine_id: str) -> Daemon:
    host, _ = Host.objects.get_or_create(slug="build-01", defaults={"name": "build-01"})
    return Daemon.objects.create(engine_id=engine_id, host=host, endpoint="unix:///x.sock")


def containers(owner: Daemon, prefix: str, count: int) -> list[Container]:
    return [
        Container(
            daemon=owner,
            container_id=f"{prefix}{n:04x}".ljust(64, "0"),
            name=f"{n}: 'quoted' \"name\" ünïcode",
            image="example/app:1",
            state="running",
            created=datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
            labels={"n": str(n), "nested": {"deep": [1, None, "ü"]}},
            mounts=[{"type": "volume", "name": "data", "rw": True}],
            ports=[{"public": 8000 + n, "private": 80, "protocol": "tcp"}],
            privileged=n % 2 == 0,
            health_log={"failing_streak": n},
        )
        for n in range(count)
    ]


def stored(owner: Daemon) -> list[tuple]:
    return list(Container.objects.filter(daemon=owner).order_by("name").values_list(*COMPARED))


def test_rows_are_stored_as_bulk_create_stores_them_and_get_their_keys() -> None:
    ours, django = daemon("TEST:OURS"), daemon("TEST:DJANGO")
    rows = containers(ours, "a", 7)
    insert_rows(Container, rows, "container_id")
    Container.objects.bulk_create(containers(django, "c", 7))
    assert stored(ours) == stored(django)
    for row in rows:
        assert Container.objects.get(pk=row.pk).container_id == row.container_id
        assert not row._state.adding
    row = rows[3]
    row.state = "exited"
    row.save(update_fields=["state"])  # an inserted row saves as any other
    assert Container.objects.get(pk=row.pk).state == "exited"


def test_rows_beyond_the_parameter_limit_go_in_batches(monkeypatch) -> None:
    monkeypatch.setattr(inserts, "MOST_PARAMETERS", len(FIELDS) * 3)
    many = daemon("TEST:MANY")
    rows = containers(many, "b", 10)
    insert_rows(Container, rows, "container_id")
    assert Container.objects.filter(daemon=many).count() == 10
    assert len({row.pk for row in rows}) == 10


def test_nothing_to_insert_asks_nothing(django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        insert_rows(Container, [], "container_id")
