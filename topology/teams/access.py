"""Who may see and do what. Site admins see everything; everyone else sees the hosts of their
teams and the hosts that belong to no team (shared), and whatever is nested under those."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from topology.inventory.models import Host
from topology.teams.models import Membership

ALL = None


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
