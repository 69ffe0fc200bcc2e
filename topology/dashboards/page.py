"""What the graph page needs to know about the saved dashboard it shows (``?dashboard=<id>``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse

from topology.dashboards.models import Dashboard
from topology.teams import access
from topology.teams.access import Role


def requested_dashboard(request: HttpRequest) -> Dashboard | None:
    """The dashboard named in the URL, if it exists and the user's teams may open it.

    Anything else (no id, a malformed one, another team's) leaves the plain graph page: the graph
    itself is cut to the user's teams either way, so nothing more is shown.
    """
    raw = request.GET.get("dashboard", "")
    try:
        pk = uuid.UUID(raw)
    except ValueError:
        return None
    return Dashboard.objects.visible_to(request.user).filter(pk=pk).select_related("team").first()


def page_config(request: HttpRequest, dashboard: Dashboard) -> dict[str, Any]:
    """Name, filters (the view's scope, applied whole in the browser), tiles and pinned positions;
    and, for those who may change the dashboard (team admins, site admins), where and how to save
    positions."""
    may_save = access.has_role(request.user, dashboard.team_id, Role.ADMIN)
    config: dict[str, Any] = {
        "id": str(dashboard.pk),
        "name": dashboard.name,
        "filters": dict(dashboard.filters),
        "tiles": list(dashboard.tiles),
        "positions": dashboard.positions,
        "maySavePositions": may_save,
    }
    if may_save:
        config["apiUrl"] = reverse("dashboard-detail", args=[dashboard.pk])
        config["csrfToken"] = get_token(request)
    return config
