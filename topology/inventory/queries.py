"""Reading the inventory back: the whole graph as the contract describes it.

Reads never hold up writes: the graph is read in a read-only transaction (SQLite: a deferred
transaction, which in WAL mode reads a snapshot and takes no lock a writer waits for, where the
project's write transactions begin IMMEDIATE; PostgreSQL: repeatable read, read only), and the
graph built for a version is kept until the version moves, so a second client asking for the
same version costs a few small queries. The graph is built from rows read as values
(``graph_rows``), and its JSON text is made once per version for each set of visible hosts and
layers (``serialized_graph``): the API's body and every websocket snapshot are that text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from topology.inventory import graph, graph_layers, graph_rows, invariants
from topology.inventory.models import (
    Container,
    Daemon,
    GraphRevision,
    Host,
    Image,
    Network,
    Volume,
)

logger = logging.getLogger(__name__)


def load_rows(hosts: list[Host] | None = None) -> graph.Rows:
    """What the graph is built from: hosts as model objects (a few, with their team), the rest
    as values (``graph_rows``)."""
    tables = graph_rows.read_tables(
        networks=settings.TOPOLOGY_DISCOVER_NETWORKS, images=settings.TOPOLOGY_DISCOVER_IMAGES
    )
    return graph.Rows(
        hosts=hosts if hosts is not None else list(Host.objects.select_related("team")),
        daemons=tables.daemons,
        containers=tables.containers,
        networks=tables.networks,
        volumes=tables.volumes,
        images=tables.images,
    )


def load_model_rows() -> graph.Rows:
    """The same rows as model objects, as the graph was loaded before ``graph_rows``: what
    benchmarks and tests compare the values with."""
    return graph.Rows(
        hosts=list(Host.objects.select_related("team")),
        daemons=list(Daemon.objects.all()),
        containers=list(Container.objects.all()),
        networks=list(Network.objects.all()),
        volumes=list(Volume.objects.all()),
        images=list(Image.objects.all()),
    )


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """One transaction that only reads: every query in it sees the same moment, and no writer
    waits for it. Inside a caller's transaction, that transaction is used as it is."""
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        except BaseException:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
            raise
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


_built: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
_serialized: dict[str, tuple[tuple[Any, ...], OrderedDict[Any, SerializedGraph]]] = {}
_serialized_lock = threading.Lock()
MAX_SERIALIZED_VIEWS = 6  # kept per graph version: everything, and the teams' cuts asked last


@dataclass
class SerializedGraph:
    """The graph one kind of reader sees (a set of hosts, some layers) as the websocket's
    ``snapshot`` message, made once per graph version however many clients ask; the graph's
    own JSON (the API's body) is the part of it after ``"graph":``. ``packed`` holds the
    message's compressed forms, made by whoever sends them first (``{"deflate": bytes}``)."""

    version: int
    snapshot_message: str
    node_ids: frozenset[str]
    allowed_hosts: frozenset[str] | None
    packed: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, cut: dict[str, Any], allowed_hosts: frozenset[str] | None) -> SerializedGraph:
        version = cut["version"]
        return cls(
            version=version,
            snapshot_message=_message_head(version) + json_text(cut) + "}",
            node_ids=frozenset(node["id"] for node in cut["nodes"]),
            allowed_hosts=allowed_hosts,
        )

    @property
    def nodes(self) -> int:
        return len(self.node_ids)

    @property
    def text(self) -> str:
        """The graph as JSON (a copy cut from the message: the message is what is kept)."""
        return self.snapshot_message[len(_message_head(self.version)) : -1]

    @cached_property
    def snapshot_bytes(self) -> int:
        return len(self.snapshot_message.encode())


def _message_head(version: int) -> str:
    return f'{{"type":"snapshot","version":{version},"graph":'


def _extent(model: Any) -> tuple[int, int | None]:
    found = model.objects.order_by().aggregate(rows=Count("pk"), top=Max("pk"))
    return found["rows"], found["top"]


def _whole_graph(user: Any) -> tuple[tuple[Any, ...], dict[str, Any], set[str] | None]:
    """The key of what is in the database now, the whole graph for it, and the host nodes
    ``user`` may see (``None``: all; also for no user), read in one read-only transaction.

    The whole graph is built once per key: the version, the hosts (which change without one
    when renamed or given to a team), and how many rows each table has and its highest key
    (rows made or removed without a new version, by a test or a shell, are seen).
    """
    with read_only():
        version = GraphRevision.current()
        hosts = list(Host.objects.select_related("team"))
        key = (
            version,
            settings.TOPOLOGY_DISCOVER_NETWORKS,
            settings.TOPOLOGY_DISCOVER_IMAGES,
            tuple((h.pk, h.slug, h.name, h.status, h.team.slug if h.team else None) for h in hosts),
            *(_extent(model) for model in (Daemon, Container, Network, Volume, Image)),
        )
        alias = str(connection.settings_dict.get("NAME"))
        cached = _built.get(alias)
        if cached is not None and cached[0] == key:
            whole = cached[1]
        else:
            rows = load_rows(hosts)
            whole = checked(graph.build_graph(rows, version, timezone.now()))
            _built[alias] = (key, whole)
        allowed = None if user is None else allowed_host_nodes(user)
    return (alias, *key), whole, allowed


def current_graph(user: Any = None) -> dict[str, Any]:
    """The graph and its version, read in one read-only transaction so they agree. With
    ``user``, only what that user may see (teams); without, everything (commands)."""
    _key, whole, allowed = _whole_graph(user)
    # The cached lists are never handed out: a caller may change what it gets.
    mine = {**whole, "nodes": list(whole["nodes"]), "edges": list(whole["edges"])}
    return graph.visible_graph(mine, allowed)


def serialized_graph(
    user: Any = None, layers: frozenset[str] = graph_layers.ALL
) -> SerializedGraph:
    """What ``current_graph(user)`` cut to ``layers`` is, as JSON text: serialized once per
    graph version for each set of visible hosts and layers (the last few asked are kept)."""
    key, whole, allowed = _whole_graph(user)
    view = (None if allowed is None else frozenset(allowed), layers)
    with _serialized_lock:
        kept = _serialized.get(key[0])
        if kept is not None and kept[0] == key and view in kept[1]:
            kept[1].move_to_end(view)
            return kept[1][view]
    mine = {**whole, "nodes": list(whole["nodes"]), "edges": list(whole["edges"])}
    cut = graph_layers.graph_in(graph.visible_graph(mine, allowed), layers)
    made = SerializedGraph.of(cut, view[0])
    with _serialized_lock:
        kept = _serialized.get(key[0])
        if kept is None or kept[0] != key:
            kept = _serialized[key[0]] = (key, OrderedDict())
        kept[1][view] = made
        while len(kept[1]) > MAX_SERIALIZED_VIEWS:
            kept[1].popitem(last=False)
    return made


def json_text(value: Any) -> str:
    """Compact JSON, as REST framework writes it (U+2028 and U+2029 escaped for scripts)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def checked(built: dict[str, Any]) -> dict[str, Any]:
    """``built``, checked against the graph's invariants as ``TOPOLOGY_GRAPH_CHECKS`` says."""
    mode = getattr(settings, "TOPOLOGY_GRAPH_CHECKS", "off")
    if mode == "raise":
        invariants.check_graph(built)
    elif mode == "log" and (problems := invariants.graph_problems(built)):
        logger.error("the graph breaks %d invariant(s): %s", len(problems), "; ".join(problems))
    return built


def allowed_host_nodes(user: Any) -> set[str] | None:
    """Host node ids ``user`` may see, or ``None`` for all."""
    if user.is_authenticated and user.is_superuser:
        return None
    slugs = Host.objects.visible_to(user).values_list("slug", flat=True)
    return {f"host:{slug}" for slug in slugs}
