"""REST representation of a dashboard."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework import serializers

from topology.dashboards.models import Dashboard
from topology.teams.serializers import TeamField


class DashboardSerializer(serializers.ModelSerializer):
    team = TeamField()

    class Meta:
        model = Dashboard
        fields = ["id", "name", "team", "filters", "layout", "positions", "tiles", "updated"]
        read_only_fields = ["id", "updated"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A change is checked as the saved row it will become: the one-name-per-team constraint
        # then leaves the dashboard itself out (a copy of a saved instance is not "adding").
        dashboard = Dashboard() if self.instance is None else copy.copy(self.instance)
        for field, value in attrs.items():
            setattr(dashboard, field, value)
        try:
            dashboard.full_clean(exclude=["created_by"], validate_unique=False)
        except ModelValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs
