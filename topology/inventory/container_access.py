"""Who may look inside a container: its live stats, its logs, a shell in it.

Everyone who may see a container (its host's team, or a host of no team) may watch its stats.
Its logs: operators and admins of its team, site admins, and the owner of the live demo it
belongs to. A terminal is root on that engine: off unless a site admin switched terminals on
for the container's team (``Team.exec_enabled``), and then only for that team's admins (site
admins included). A demo's owner may always open a shell in the demo's workloads (what the
demo runs, never the DinD or DooD container, which hold a daemon).

Demo ownership is vouched for by the demos app (``provenance.demo_owner``); a container's
labels alone prove nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from topology.engine.demos import DEMO, MANAGED, ROLE
from topology.engine.types import Route
from topology.inventory import polling, provenance
from topology.inventory.models import Container, Host, Status
from topology.teams import access
from topology.teams.access import Role
from topology.teams.models import Team

NODE_ID = re.compile(r"^container:([0-9a-f]{64})$")
MAX_DEPTH = 64


@dataclass(frozen=True)
class Reach:
    """A container someone asked about and may see: its row, its host's team, and the route
    to its daemon (None when the daemon cannot be reached now)."""

    container: Container
    team: Team | None
    route: Route | None

    @property
    def team_name(self) -> str:
        return self.team.name if self.team else "no team"


def container_hex(node_id: Any) -> str | None:
    match = NODE_ID.match(node_id) if isinstance(node_id, str) else None
    return match.group(1) if match else None


def host_of(container: Container) -> Host | None:
    """The host at the root of the container's daemons (nested ones included)."""
    daemon = container.daemon
    for _ in range(MAX_DEPTH):
        if daemon.host_id is not None:
            return daemon.host
        if daemon.container_id is None:
            return None
        daemon = daemon.container.daemon
    return None


def reach(user: Any, node_id: Any) -> Reach | None:
    """The container behind ``node_id`` if ``user`` may see it; None otherwise (unknown and
    hidden read the same)."""
    hex_id = container_hex(node_id)
    if hex_id is None or not user.is_authenticated:
        return None
    container = (
        Container.objects.visible_to(user)
        .filter(container_id=hex_id)
        .select_related("daemon__host__team", "daemon__container__daemon")
        .first()
    )
    if container is None:
        return None
    host = host_of(container)
    team = host.team if host is not None and host.team_id else None
    route = None
    if container.daemon.status == Status.UP:
        route = polling.routes_to([container.daemon]).get(container.daemon.pk)
    return Reach(container, team, route)


def visible_hexes(user: Any, hexes: set[str]) -> set[str]:
    """Which of these containers ``user`` may see."""
    if not hexes or not user.is_authenticated:
        return set()
    rows = Container.objects.visible_to(user).filter(container_id__in=hexes)
    return set(rows.values_list("container_id", flat=True))


def owns_demo_of(user: Any, container: Container) -> bool:
    """Whether ``container`` is one of ours, of a live demo that ``user`` owns."""
    labels = container.labels if isinstance(container.labels, dict) else {}
    if labels.get(MANAGED) != "true":
        return False
    owner = provenance.demo_owner(str(labels.get(DEMO) or ""))
    return owner is not None and owner == user.pk


def may_read_logs(user: Any, target: Reach) -> bool:
    team_id = target.team.pk if target.team else None
    return access.has_role(user, team_id, Role.OPERATOR) or owns_demo_of(user, target.container)


def logs_refusal(target: Reach) -> str:
    return f"Reading logs needs the operator role in {target.team_name}."


def terminal_grant(user: Any, target: Reach) -> tuple[str | None, str]:
    """``(why allowed, "")`` or ``(None, why not)`` for a shell in ``target``."""
    labels = target.container.labels if isinstance(target.container.labels, dict) else {}
    if labels.get(ROLE) == "workload" and owns_demo_of(user, target.container):
        return "demo-owner", ""
    team = target.team
    if team is None:
        return None, "Terminals are off for engines of no team."
    if not team.exec_enabled:
        return None, f"Terminals are off for {team.name}: only a site admin can switch them on."
    if not access.has_role(user, team.pk, Role.ADMIN):
        return None, f"Opening a terminal needs the team admin role in {team.name}."
    return "team-exec", ""


def page_hints(user: Any) -> dict[str, Any]:
    """What the map shows as buttons (the server decides again on each request): the teams
    whose logs and terminals this user may open."""
    if user.is_authenticated and user.is_superuser:
        return {
            "allTeams": True,
            "logsTeams": [],
            "terminalTeams": list(
                Team.objects.filter(exec_enabled=True).values_list("slug", flat=True)
            ),
        }
    operator = Team.objects.with_role(user, Role.OPERATOR)
    admin = Team.objects.with_role(user, Role.ADMIN).filter(exec_enabled=True)
    return {
        "allTeams": False,
        "logsTeams": list(operator.values_list("slug", flat=True)),
        "terminalTeams": list(admin.values_list("slug", flat=True)),
    }
