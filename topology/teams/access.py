"""Who may see and do what. Site admins see everything; everyone else sees the hosts of their
teams and the hosts that belong to no team (shared), and whatever is nested under those.

Roles grow: a team admin may do what an operator may, an operator what a viewer may. Demos
belong to a team too (or to none: shared); members see them, operators launch and delete them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from topology.demos.models import Demo
from topology.inventory.models import Host
from topology.teams.models import Membership

ALL = None
ANY_ROLE = {"viewer", "operator", "admin"}
OPERATORS = {"operator", "admin"}
LAUNCH_DEMO = "demos.launch_demo"


def visible_host_ids(user: AbstractBaseUser | AnonymousUser) -> set[int] | None:
    """The hosts ``user`` may see, or ``None`` for all of them (site admins)."""
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return ALL
    teams = Membership.objects.filter(user=user).values("team")
    return set(
        Host.objects.filter(Q(team__isnull=True) | Q(team__in=teams)).values_list("pk", flat=True)
    )


def has_team_role(user: AbstractBaseUser, team_id: int | None, roles: set[str]) -> bool:
    """Site admins always; otherwise a membership of ``team_id`` with one of ``roles``."""
    if user.is_superuser:
        return True
    if team_id is None:
        return False
    return Membership.objects.filter(user=user, team_id=team_id, role__in=roles).exists()


def visible_daemon_ids(user: AbstractBaseUser | AnonymousUser) -> set[int] | None:
    """The daemons on visible hosts and, level by level, those nested in their containers."""
    from topology.inventory.models import Daemon

    hosts = visible_host_ids(user)
    if hosts is None:
        return ALL
    ids = set(Daemon.objects.filter(host_id__in=hosts).values_list("pk", flat=True))
    frontier = set(ids)
    while frontier:
        nested = set(
            Daemon.objects.filter(container__daemon_id__in=frontier).values_list("pk", flat=True)
        )
        frontier = nested - ids
        ids |= frontier
    return ids


def team_ids_with_role(user: AbstractBaseUser, roles: set[str]) -> set[int] | None:
    """Teams where ``user`` holds one of ``roles``; ``None`` for site admins (every team)."""
    if user.is_superuser:
        return ALL
    return set(
        Membership.objects.filter(user=user, role__in=roles).values_list("team_id", flat=True)
    )


def visible_demos(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Demo]:
    """The demos of ``user``'s teams and the shared ones (no team); all for site admins."""
    demos = Demo.objects.select_related("owner", "team")
    if not user.is_authenticated:
        return demos.none()
    teams = team_ids_with_role(user, ANY_ROLE)
    if teams is None:
        return demos
    return demos.filter(Q(team__isnull=True) | Q(team__in=teams))


def may_operate_demo(user: AbstractBaseUser, team_id: int | None) -> bool:
    """Launch or delete a demo of ``team_id``: its operators and admins; a shared demo (no team),
    whoever holds the ``launch_demo`` permission."""
    if team_id is None:
        return user.has_perm(LAUNCH_DEMO)
    return has_team_role(user, team_id, OPERATORS)
