"""Team roles as Django permissions, so that ``has_perm`` and templates' ``perms`` know them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend

from topology.teams import access

ROLES_GRANTING = {access.LAUNCH_DEMO: access.OPERATORS}


class TeamRoleBackend(BaseBackend):
    """An operator or admin of any team holds ``demos.launch_demo`` (for which team: see
    ``access.may_operate_demo``). Authenticates no one; ``ModelBackend`` does that."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        roles = ROLES_GRANTING.get(perm)
        if roles is None or not user_obj.is_active or user_obj.is_anonymous:
            return False
        return bool(access.team_ids_with_role(user_obj, roles))
