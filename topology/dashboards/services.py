"""Changing dashboards: the REST API and the pages both come through here."""

from __future__ import annotations

from typing import Any

from topology.dashboards.models import Dashboard


def save(form: Any, user: Any) -> Dashboard:
    dashboard = form.save(commit=False)
    if dashboard.created_by_id is None:
        dashboard.created_by = user
    dashboard.full_clean()
    dashboard.save()
    return dashboard


def duplicate(original: Dashboard, user: Any) -> Dashboard:
    """A copy in the same team, named "<name> (copy)", "<name> (copy 2)", …"""
    name = f"{original.name} (copy)"
    number = 2
    while Dashboard.objects.filter(team=original.team, name=name).exists():
        name = f"{original.name} (copy {number})"
        number += 1
    return Dashboard.objects.create(
        name=name,
        team=original.team,
        filters=original.filters,
        layout=original.layout,
        positions=original.positions,
        tiles=original.tiles,
        created_by=user,
    )
