"""Reading the graph back: read-only transactions that never hold up a write, and one build per
graph version."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from tests.graph_schema import validate_graph
from tests.test_services import info_of, snapshot
from topology.inventory import graph, queries, services
from topology.inventory.models import GraphRevision, Host
from topology.inventory.services import Place

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_goes_through_while_a_reader_holds_its_transaction() -> None:
    services.reconcile(snapshot(info_of("a")), Place())
    before = GraphRevision.current()
    reading, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def reader() -> None:
        try:
            with queries.read_only():
                seen.append(GraphRevision.current())
                reading.set()
                release.wait(60)
                seen.append(GraphRevision.current())  # the same moment, whatever was written
        finally:
            connection.close()

    def writer() -> None:
        try:
            with transaction.atomic():
                services.bump_version()
        finally:
            connection.close()

    holder = threading.Thread(target=reader)
    holder.start()
    try:
        assert reading.wait(60)
        write = threading.Thread(target=writer)
        write.start()
        write.join(60)
        assert not write.is_alive()  # it did not wait for the reader to finish
    finally:
        release.set()
        holder.join(60)
    assert seen == [before, before]
    assert GraphRevision.current() == before + 1


def test_the_graph_is_built_once_per_version(monkeypatch) -> None:
    builds: list[int] = []
    build = graph.build_graph

    def counted(rows, version, generated_at):  # type: ignore[no-untyped-def]
        builds.append(version)
        return build(rows, version, generated_at)

    monkeypatch.setattr(graph, "build_graph", counted)
    services.reconcile(snapshot(info_of("a"), info_of("b")), Place())
    first = queries.current_graph()
    validate_graph(first)
    first["nodes"].clear()  # a caller may change what it got: the cache keeps its own
    second = queries.current_graph()
    assert len(builds) == 1 and len(second["nodes"]) > 0
    services.reconcile(snapshot(info_of("a")), Place())  # b is gone: a new version
    third = queries.current_graph()
    assert len(builds) == 2 and third["version"] == second["version"] + 1
    assert not any(n["id"] == f"container:{'b' * 64}" for n in third["nodes"])
    Host.objects.update(name="renamed without a new version")
    renamed = queries.current_graph()
    assert len(builds) == 3
    assert any(n["label"] == "renamed without a new version" for n in renamed["nodes"])
