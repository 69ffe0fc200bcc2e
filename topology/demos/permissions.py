"""Who may launch and tear down demos: team operators for their team's demos; for shared demos
(no team), whoever holds ``demos.launch_demo``, which every team operator holds (through
``TeamOperatorsLaunchDemos``) and a site admin may grant anyone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AbstractBaseUser

from topology.teams import access
from topology.teams.access import Role

LAUNCH_DEMO = "demos.launch_demo"


class TeamOperatorsLaunchDemos(BaseBackend):
    """An operator or admin of any team holds ``demos.launch_demo`` (for which team: see
    ``may_operate_demo``), so that ``has_perm`` and templates' ``perms`` know it. Authenticates
    no one; ``ModelBackend`` does that."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if perm != LAUNCH_DEMO or not user_obj.is_active or user_obj.is_anonymous:
            return False
        return bool(access.team_ids_with_role(user_obj, Role.OPERATOR))


def may_operate_demo(user: AbstractBaseUser, team_id: int | None) -> bool:
    """Launch or delete a demo of ``team_id``: its operators and admins; a shared demo (no team),
    whoever holds the ``launch_demo`` permission."""
    if team_id is None:
        return user.has_perm(LAUNCH_DEMO)
    return access.has_role(user, team_id, Role.OPERATOR)
