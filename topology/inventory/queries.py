"""Reading the inventory back: the whole graph as the contract describes it."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
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


def load_rows() -> graph.Rows:
    networks = settings.TOPOLOGY_DISCOVER_NETWORKS
    return graph.Rows(
        hosts=list(Host.objects.select_related("team")),
        daemons=list(Daemon.objects.all()),
        containers=list(Container.objects.all()),
        networks=list(Network.objects.all()) if networks else [],
        volumes=list(Volume.objects.all()),
        images=list(Image.objects.all()) if settings.TOPOLOGY_DISCOVER_IMAGES else [],
    )


def current_graph(user: Any = None) -> dict[str, Any]:
    """The graph and its version, read in one transaction so they agree.

    With ``user``, only what that user may see (teams); without, everything (commands).
    """
    with transaction.atomic():
        version = GraphRevision.current()
        rows = load_rows()
        allowed = None if user is None else allowed_host_nodes(user)
    built = graph.build_graph(rows, version, timezone.now())
    checked(built)
    return graph.visible_graph(built, allowed)


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
