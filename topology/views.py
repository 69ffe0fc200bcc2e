"""The pages that show more than one app: the map, the teams and a team's home; and the
health check for probes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from topology import health
from topology.dashboards import page as dashboard_page
from topology.dashboards.models import Dashboard
from topology.demos.models import Demo
from topology.demos.views import launch_context
from topology.inventory import container_access
from topology.inventory.models import Endpoint
from topology.teams import access
from topology.teams.access import Role
from topology.teams.models import Team

# The map runs only our own static scripts and styles; daemon data reaches it as JSON over the
# websocket and is put into the page with textContent (never as markup).
MAP_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """Open to probes (load balancers, Compose); says only ok/error per part, never why."""
    results = health.run_checks()
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse(results, status=200 if healthy else 503)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The live map; the graph itself arrives over the websocket.

    ``?dashboard=<id>`` adds a saved dashboard's tiles and pinned positions; ``?kiosk=1`` is the
    wall-screen form: the graph and the tiles only, no controls.
    """
    kiosk = request.GET.get("kiosk") == "1"
    dashboard = dashboard_page.requested_dashboard(request)
    config = {
        "websocketPath": "/ws/topology/",
        "heartbeatSeconds": settings.TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS,
        "graphUrl": reverse("api-topology"),
        "dotUrl": reverse("api-topology-dot"),
        "loginUrl": reverse("login"),
        "vendor": static("vendor/"),
        "kiosk": kiosk,
        "dashboard": dashboard_page.page_config(request, dashboard) if dashboard else None,
        "terminalUrl": reverse("container-terminal", args=["CONTAINER"]),
        "observe": observe_hints(request.user),
    }
    context = {"dashboard_config": config, "kiosk": kiosk, "dashboard": dashboard}
    if not kiosk:
        context["launch"] = launch_context(request.user)
    response = render(request, "map.html", context)
    response["Content-Security-Policy"] = MAP_CSP
    return response


def observe_hints(user: object) -> dict[str, object]:
    """Which logs and terminal buttons the map shows (the server checks again on each use):
    the teams whose logs and terminals ``user`` may open, and the live demos they own."""
    live = Demo.objects.filter(owner=user, status__in=[Demo.Status.STARTING, Demo.Status.RUNNING])
    return {
        **container_access.page_hints(user),
        "demos": [str(pk) for pk in live.values_list("pk", flat=True)],
    }


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    """The user's teams, each with its dashboards."""
    teams = Team.objects.visible_to(request.user).prefetch_related("dashboards")
    admin_of = access.team_ids_with_role(request.user, Role.ADMIN)
    rows = [(team, admin_of is None or team.pk in admin_of) for team in teams]
    return render(request, "teams/list.html", {"rows": rows})


@require_GET
def team_home(request: HttpRequest, slug: str) -> HttpResponse:
    """A team's dashboards and registered engines; outsiders get a 404."""
    team = access.team_for(request, slug, Role.VIEWER)
    return render(
        request,
        "teams/home.html",
        {
            "team": team,
            "dashboards": Dashboard.objects.filter(team=team),
            "engines": Endpoint.objects.filter(team=team).prefetch_related("daemons"),
            "may_edit": access.has_role(request.user, team.pk, Role.ADMIN),
        },
    )
