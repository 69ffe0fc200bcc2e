"""Changing who is in a team, and in which role: the one place memberships are written."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from topology.teams.models import Membership, Team


class MembershipRefused(Exception):
    """The change would break a rule; the message says which, for people."""


def _admins(team: Team) -> int:
    return Membership.objects.filter(team=team, role=Membership.Role.ADMIN).count()


@transaction.atomic
def set_member_role(team: Team, username: str, role: str) -> Membership:
    """Add ``username`` to ``team`` in ``role``, or change the role they have.

    A team keeps at least one team admin: the last one cannot be turned into something else.
    """
    if role not in Membership.Role.values:
        raise MembershipRefused(f"{role!r} is not a role: choose viewer, operator or admin.")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise MembershipRefused(f"There is no active user called {username!r}.")
    Team.objects.select_for_update().filter(pk=team.pk).first()  # one change at a time
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        return Membership.objects.create(team=team, user=user, role=role)
    demoted = membership.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN
    if demoted and _admins(team) == 1:
        raise MembershipRefused(f"{username} is the team's last admin: make another first.")
    membership.role = role
    membership.save()
    return membership


@transaction.atomic
def remove_member(team: Team, user: AbstractBaseUser) -> None:
    """Take ``user`` out of ``team``; the last team admin stays."""
    Team.objects.select_for_update().filter(pk=team.pk).first()
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        raise MembershipRefused(f"{user.get_username()} is not in {team.name}.")
    if membership.role == Membership.Role.ADMIN and _admins(team) == 1:
        raise MembershipRefused(
            f"{user.get_username()} is the team's last admin: make another first."
        )
    membership.delete()
