"""Reading the inventory back: the whole graph as the contract describes it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from topology.inventory import graph
from topology.inventory.models import Container, Daemon, GraphRevision, Host


def load_rows() -> graph.Rows:
    return graph.Rows(
        hosts=list(Host.objects.all()),
        daemons=list(Daemon.objects.all()),
        containers=list(Container.objects.all()),
    )


def current_graph() -> dict[str, Any]:
    """The graph and its version, read in one transaction so they agree."""
    with transaction.atomic():
        version = GraphRevision.current()
        rows = load_rows()
    return graph.build_graph(rows, version, timezone.now())
