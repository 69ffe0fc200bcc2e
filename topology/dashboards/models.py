"""Saved views of the graph: filters, layout, pinned positions and summary tiles, per team."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from topology.teams.models import Team

LAYOUTS = ("nested", "hierarchical", "force")
TILES = ("daemons", "containers", "roles", "health", "exposure", "last_change")
TILE_LABELS = {
    "daemons": "Daemons up / unreachable",
    "containers": "Containers by state",
    "roles": "DinD and DooD counts",
    "health": "Unhealthy containers, by name",
    "exposure": "Exposed containers (public port, engine socket)",
    "last_change": "Last change time",
}
FILTER_KEYS = {"hosts", "daemons", "roles", "states", "exposure", "name", "label"}
EXPOSURES = ("public", "socket")
SCOPE_WORDS = (
    ("hosts", "host", "hosts"),
    ("daemons", "daemon", "daemons"),
    ("roles", "role", "roles"),
    ("states", "state", "states"),
    ("exposure", "exposed by", "exposed by"),
)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _reject_nul(value: object, what: str) -> None:
    """PostgreSQL's jsonb refuses NUL in text: say so instead of failing at the database."""
    if _has_nul(value):
        raise ValidationError(f"{what} contain a NUL character.")


def validate_filters(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Filters are an object.")
    _reject_nul(value, "Filters")
    unknown = set(value) - FILTER_KEYS
    if unknown:
        raise ValidationError(f"Unknown filters: {', '.join(sorted(unknown))}.")
    for key in ("hosts", "daemons", "roles", "states", "exposure"):
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValidationError(f"Filter {key} is a list of strings.")
    if not set(value.get("exposure", [])) <= set(EXPOSURES):
        raise ValidationError(f"Filter exposure is a list of: {', '.join(EXPOSURES)}.")
    for key in ("name", "label"):
        if not isinstance(value.get(key, ""), str) or len(value.get(key, "")) > 200:
            raise ValidationError(f"Filter {key} is a pattern of at most 200 characters.")


MAX_POSITIONS = 5000
MAX_COORDINATE = 1e7


def _coordinate(value: object) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and abs(value) <= MAX_COORDINATE  # type: ignore[operator]


def validate_positions(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Positions map node ids to {x, y}.")
    _reject_nul(value, "Positions")
    if len(value) > MAX_POSITIONS:
        raise ValidationError(f"At most {MAX_POSITIONS} positions (got {len(value)}).")
    for node_id, point in value.items():
        ok = isinstance(node_id, str) and isinstance(point, dict) and set(point) == {"x", "y"}
        if not ok or not all(_coordinate(point[axis]) for axis in ("x", "y")):
            raise ValidationError(f"Position of {str(node_id)[:100]!r} must be {{x, y}} numbers.")


def validate_tiles(value: object) -> None:
    if not isinstance(value, list) or not set(value) <= set(TILES):
        raise ValidationError(f"Tiles are a list of: {', '.join(TILES)}.")


class DashboardQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> DashboardQuerySet:
        """The dashboards of ``user``'s teams (site admins: all)."""
        return self.filter(team__in=Team.objects.visible_to(user))


class Dashboard(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=128)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="dashboards")
    filters = models.JSONField(default=dict, blank=True, validators=[validate_filters])
    layout = models.CharField(
        max_length=16, choices=[(name, name) for name in LAYOUTS], default="nested"
    )
    positions = models.JSONField(default=dict, blank=True, validators=[validate_positions])
    tiles = models.JSONField(default=list, blank=True, validators=[validate_tiles])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated = models.DateTimeField(auto_now=True)

    objects = DashboardQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="dashboard_name_per_team")
        ]

    def __str__(self) -> str:
        return self.name

    def graph_query(self) -> dict[str, str]:
        """The graph page's URL parameters for this view.

        The filters stay out of the URL: the page reads them whole from the dashboard (its scope),
        so the page's own one-value controls start clear and only narrow the scope further.
        """
        return {"layout": self.layout, "dashboard": str(self.id)}

    def scope_summary(self) -> str:
        """The filters in words, e.g. ``roles dind, dood; state running``; empty for none."""
        parts = []
        for key, one, many in SCOPE_WORDS:
            values = [str(value) for value in self.filters.get(key) or []]
            if values:
                parts.append(f"{one if len(values) == 1 else many} {', '.join(values)}")
        for key, word in (("name", "name"), ("label", "label")):
            if self.filters.get(key):
                parts.append(f"{word} {self.filters[key]}")
        return "; ".join(parts)
