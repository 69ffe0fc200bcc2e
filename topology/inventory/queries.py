"""Reading the inventory back: the whole graph as the contract describes it.

Reads never hold up writes: the graph is read in a read-only transaction (SQLite: a deferred
transaction, which in WAL mode reads a snapshot and takes no lock a writer waits for, where the
project's write transactions begin IMMEDIATE; PostgreSQL: repeatable read, read only), and the
graph built for a version is kept until the version moves, so a second client asking for the
same version costs two small queries.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from topology.inventory import graph, invariants
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
    networks = settings.TOPOLOGY_DISCOVER_NETWORKS
    return graph.Rows(
        hosts=hosts if hosts is not None else list(Host.objects.select_related("team")),
        daemons=list(Daemon.objects.all()),
        containers=list(Container.objects.all()),
        networks=list(Network.objects.all()) if networks else [],
        volumes=list(Volume.objects.all()),
        images=list(Image.objects.all()) if settings.TOPOLOGY_DISCOVER_IMAGES else [],
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


def _extent(model: Any) -> tuple[int, int | None]:
    found = model.objects.order_by().aggregate(rows=Count("pk"), top=Max("pk"))
    return found["rows"], found["top"]


def current_graph(user: Any = None) -> dict[str, Any]:
    """The graph and its version, read in one read-only transaction so they agree.

    The whole graph is built once per version (hosts, which change without one when renamed or
    given to a team, are part of what is compared, and so are how many rows each table has and
    its highest key: rows made or removed without a new version, by a test or a shell, are
    seen). With ``user``, only what that user may see (teams); without, everything (commands).
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
    # The cached lists are never handed out: a caller may change what it gets.
    mine = {**whole, "nodes": list(whole["nodes"]), "edges": list(whole["edges"])}
    return graph.visible_graph(mine, allowed)


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
