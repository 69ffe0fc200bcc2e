from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from topology.demos import services
from topology.teams import access
from topology.teams.models import Team


def launch_context(user: Any) -> dict[str, Any]:
    """What the launch buttons need: whether to enable them, the teams to launch for (a choice
    when there are several), and which demos' tear-down buttons to show (``operates``)."""
    operated = access.team_ids_with_role(user, access.OPERATORS)
    teams = Team.objects.all() if operated is None else Team.objects.filter(pk__in=operated)
    may_share = user.has_perm(access.LAUNCH_DEMO)  # launch or tear down a demo with no team
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


@require_GET
def demo_list(request: HttpRequest) -> HttpResponse:
    demos = [services.describe(demo) for demo in access.visible_demos(request.user)]
    return render(
        request,
        "demos/list.html",
        {"demos": demos, "launch": launch_context(request.user)},
    )


@require_GET
def demo_detail(request: HttpRequest, demo_id: str) -> HttpResponse:
    demo = get_object_or_404(access.visible_demos(request.user), pk=demo_id)
    return render(
        request,
        "demos/detail.html",
        {
            "demo": services.describe(demo),
            "facts": services.facts(demo) if demo.status == demo.Status.RUNNING else None,
            "may_launch": access.may_operate_demo(request.user, demo.team_id),
        },
    )
