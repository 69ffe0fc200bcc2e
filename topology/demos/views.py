"""Demo pages, and what the launch buttons need on any page that shows them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from topology.demos import services
from topology.demos.models import Demo
from topology.demos.permissions import LAUNCH_DEMO, may_operate_demo
from topology.teams import access
from topology.teams.access import Role
from topology.teams.models import Team


def launch_context(user: Any) -> dict[str, Any]:
    """What the launch buttons need: whether to enable them, the teams to launch for (a choice
    when there are several), and which demos' tear-down buttons to show (``operates``)."""
    operated = access.team_ids_with_role(user, Role.OPERATOR)
    teams = Team.objects.all() if operated is None else Team.objects.filter(pk__in=operated)
    may_share = user.has_perm(LAUNCH_DEMO)  # launch or tear down a demo with no team
    shared = may_share and not operated
    choices = [{"slug": team.slug, "name": team.name} for team in teams.order_by("name")]
    if shared and operated is None:
        choices.insert(0, {"slug": "", "name": "Shared (no team)"})
    return {
        "may_launch": bool(choices) or shared,
        "teams": choices,
        "operates": {
            "all": operated is None,
            "teams": [c["slug"] for c in choices if c["slug"]],
            "shared": may_share,
        },
    }


def _visible_demos(request: HttpRequest) -> QuerySet[Demo]:
    return Demo.objects.select_related("owner", "team").visible_to(request.user)


def _get_demo_for_user(request: HttpRequest, demo_id: str) -> Demo:
    """The demo, if the user's teams may see it; otherwise a 404, as if there were none."""
    return get_object_or_404(_visible_demos(request), pk=demo_id)


@require_GET
def demo_list(request: HttpRequest) -> HttpResponse:
    demos = [services.describe(demo) for demo in _visible_demos(request)]
    return render(
        request,
        "demos/list.html",
        {"demos": demos, "launch": launch_context(request.user)},
    )


@require_GET
def demo_detail(request: HttpRequest, demo_id: str) -> HttpResponse:
    demo = _get_demo_for_user(request, demo_id)
    return render(
        request,
        "demos/detail.html",
        {
            "demo": services.describe(demo),
            "facts": services.facts(demo) if demo.status == demo.Status.RUNNING else None,
            "may_launch": may_operate_demo(request.user, demo.team_id),
        },
    )
