"""How the REST API writes a team: by its slug."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from topology.teams.models import Team


class TeamField(serializers.SlugRelatedField):
    """A team, written as its slug; a slug with a NUL character is not one (and never reaches
    the database, which refuses NUL in text)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Team.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Team:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)
