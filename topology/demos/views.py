from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from topology.demos import services
from topology.teams import access


@require_GET
def demo_list(request: HttpRequest) -> HttpResponse:
    demos = [services.describe(demo) for demo in access.visible_demos(request.user)]
    return render(
        request,
        "demos/list.html",
        {"demos": demos, "may_launch": request.user.has_perm("demos.launch_demo")},
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
