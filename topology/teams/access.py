"""Who may do what in a team: the role predicates, and the one gate for a team's pages.

Site admins (``is_superuser``) hold every role in every team. Roles grow
(``Membership.Role``): asking for a role asks for it or a greater one. Each app filters its own
rows with these (``Host.objects.visible_to``, ``Demo.objects.visible_to``, ...).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from topology.teams.models import Membership, Team

Role = Membership.Role
User = AbstractBaseUser | AnonymousUser


def has_role(user: User, team_id: int | None, role: str) -> bool:
    """Site admins always; otherwise a membership of ``team_id`` with ``role`` or above."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if team_id is None:
        return False
    roles = Role(role).and_above()
    return Membership.objects.filter(user=user, team_id=team_id, role__in=roles).exists()


def team_ids_with_role(user: User, role: str) -> set[int] | None:
    """Teams where ``user`` holds ``role`` or above; ``None`` for site admins (every team)."""
    if user.is_authenticated and user.is_superuser:
        return None
    return set(Team.objects.with_role(user, role).values_list("pk", flat=True))


def team_for(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Team:
    """The team ``slug`` for a page that needs ``role`` in it.

    Anyone outside the team gets a 404, whether or not it exists: a slug tells them nothing.
    A member with a smaller role gets a 403 that names the role needed.
    """
    team = Team.objects.filter(slug=slug).first()
    if team is None or not has_role(request.user, team.pk, Role.VIEWER):
        raise Http404("No such team.")
    if not has_role(request.user, team.pk, role):
        raise PermissionDenied(f"This needs the {Role(role).value} role in {team.name}.")
    return team
