"""Teams, their members and roles: who sees which engines and who may change what."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class TeamQuerySet(models.QuerySet):
    def with_role(self, user: Any, role: str) -> TeamQuerySet:
        """The teams where ``user`` holds ``role`` or a greater one; every team for site
        admins, none for anonymous users."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        roles = Membership.Role(role).and_above()
        return self.filter(memberships__user=user, memberships__role__in=roles)

    def visible_to(self, user: Any) -> TeamQuerySet:
        """The teams ``user`` is a member of (site admins: all)."""
        return self.with_role(user, Membership.Role.VIEWER)


class Team(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    exec_enabled = models.BooleanField(
        "interactive terminals",
        default=False,
        help_text="Let this team's admins open a shell in its running containers: root on "
        "those engines. Only a site admin may switch it on.",
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        """Roles grow: a team admin may do what an operator may, an operator what a viewer may."""

        VIEWER = "viewer", "viewer"
        OPERATOR = "operator", "operator (launches and deletes demos)"
        ADMIN = "admin", "team admin (registers engines, manages dashboards)"

        def and_above(self) -> list[str]:
            """This role and the roles that may do more."""
            roles = list(type(self))
            return [role.value for role in roles[roles.index(self) :]]

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["team", "user"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"
