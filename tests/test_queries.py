"""Reading the graph back: read-only transactions that never hold up a write, and one build per
graph version."""

from __future__ import annotations

import itertools
import json
import threading

import pytest
from django.db import connection, transaction

from tests.graph_schema import validate_graph
from tests.test_services import info_of, snapshot
from topology.inventory import graph, graph_layers, queries, services
from topology.inventory.models import GraphRevision, Host
from topology.inventory.services import Place
from topology.teams.models import Team

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


def test_the_graph_is_serialized_once_per_version_and_view(monkeypatch, user, admin_user) -> None:
    made: list[int] = []
    real = queries.json_text

    def counted(value):  # type: ignore[no-untyped-def]
        made.append(value["version"])
        return real(value)

    monkeypatch.setattr(queries, "json_text", counted)
    services.reconcile(snapshot(info_of("a"), info_of("b")), Place())
    Host.objects.update(team=Team.objects.create(slug="others", name="Others"))
    first = queries.serialized_graph(admin_user)
    assert json.loads(first.text) == queries.current_graph(admin_user)
    assert json.loads(first.snapshot_message) == {
        "type": "snapshot",
        "version": first.version,
        "graph": json.loads(first.text),
    }
    assert first.snapshot_bytes == len(first.snapshot_message.encode())
    assert queries.serialized_graph(admin_user) is first and len(made) == 1
    assert first.allowed_hosts is None and f"container:{'a' * 64}" in first.node_ids

    outsider = queries.serialized_graph(user)  # not in the host's team
    assert outsider.allowed_hosts == frozenset() and outsider.node_ids == frozenset()
    networks_only = queries.serialized_graph(admin_user, graph_layers.parse("networks"))
    assert len(made) == 3 and networks_only is not first
    assert queries.serialized_graph(user) is outsider and len(made) == 3

    services.reconcile(snapshot(info_of("a")), Place())  # b is gone: a new version
    second = queries.serialized_graph(admin_user)
    assert second.version == first.version + 1 and len(made) == 4
    assert f"container:{'b' * 64}" not in second.node_ids


def test_only_a_few_views_are_kept() -> None:
    services.reconcile(snapshot(info_of("a")), Place())
    views = [
        frozenset(chosen)
        for size in range(1, len(graph_layers.LAYERS) + 1)
        for chosen in itertools.combinations(graph_layers.LAYERS, size)
    ]
    assert len(views) > queries.MAX_SERIALIZED_VIEWS
    for layers in views:
        queries.serialized_graph(None, layers)
    (kept,) = [entry for _key, entry in queries._serialized.values()]
    assert len(kept) == queries.MAX_SERIALIZED_VIEWS
    assert list(kept)[-1] == (None, views[-1])


def test_serialized_text_is_json_a_script_can_hold() -> None:
    text = queries.json_text({"name": "a\u2028b\u2029c", "é": 1})
    assert "\u2028" not in text and "\u2029" not in text and "é" in text
    assert json.loads(text) == {"name": "a\u2028b\u2029c", "é": 1}
