"""Changing memberships: add, change a role, remove; a team keeps its last admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from topology.teams import services
from topology.teams.models import Membership, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Team:
    team = Team.objects.create(slug="ops", name="Ops")
    for name in ("ada", "bob"):
        get_user_model().objects.create_user(name)
    services.set_member_role(team, "ada", "admin")
    return team


def test_add_change_and_remove(team: Team) -> None:
    added = services.set_member_role(team, "bob", "viewer")
    assert added.role == "viewer"
    assert services.set_member_role(team, "bob", "operator").pk == added.pk
    assert Membership.objects.get(pk=added.pk).role == "operator"
    services.remove_member(team, added.user)
    assert not Membership.objects.filter(pk=added.pk).exists()


def test_the_last_admin_stays_until_there_is_another(team: Team) -> None:
    ada = get_user_model().objects.get(username="ada")
    with pytest.raises(services.MembershipRefused, match="last admin"):
        services.set_member_role(team, "ada", "viewer")
    with pytest.raises(services.MembershipRefused, match="last admin"):
        services.remove_member(team, ada)
    services.set_member_role(team, "bob", "admin")
    services.remove_member(team, ada)
    assert list(team.memberships.values_list("user__username", "role")) == [("bob", "admin")]


def test_unknown_users_and_roles_are_refused(team: Team) -> None:
    with pytest.raises(services.MembershipRefused, match="no active user called 'eve'"):
        services.set_member_role(team, "eve", "viewer")
    with pytest.raises(services.MembershipRefused, match="not a role"):
        services.set_member_role(team, "bob", "owner")
    assert team.memberships.count() == 1
