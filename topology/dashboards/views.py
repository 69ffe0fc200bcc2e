"""Team home pages and dashboard forms. Team admins change dashboards; members open them."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from topology.dashboards import services
from topology.dashboards.forms import DashboardForm
from topology.dashboards.models import Dashboard
from topology.teams import access
from topology.teams.models import Team

ANY_ROLE = {"viewer", "operator", "admin"}


def _teams(request: HttpRequest, roles: set[str]):  # type: ignore[no-untyped-def]
    ids = access.team_ids_with_role(request.user, roles)
    return Team.objects.all() if ids is None else Team.objects.filter(pk__in=ids)


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    teams = _teams(request, ANY_ROLE).prefetch_related("dashboards")
    admin_of = access.team_ids_with_role(request.user, {"admin"})
    rows = [(team, admin_of is None or team.pk in admin_of) for team in teams]
    return render(request, "dashboards/teams.html", {"rows": rows})


@require_GET
def team_home(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(_teams(request, ANY_ROLE), slug=slug)
    may_edit = access.has_team_role(request.user, team.pk, {"admin"})
    engines = team.endpoints.prefetch_related("daemons")
    return render(
        request,
        "dashboards/team.html",
        {
            "team": team,
            "dashboards": team.dashboards.all(),
            "engines": engines,
            "may_edit": may_edit,
        },
    )


def _dashboard(request: HttpRequest, pk: str, roles: set[str]) -> Dashboard:
    dashboard = get_object_or_404(Dashboard.objects.select_related("team"), pk=pk)
    if not access.has_team_role(request.user, dashboard.team_id, roles):
        if access.has_team_role(request.user, dashboard.team_id, ANY_ROLE):
            raise PermissionDenied("Changing a dashboard needs the team admin role.")
        raise PermissionDenied("This dashboard belongs to another team.")
    return dashboard


@require_GET
def open_dashboard(request: HttpRequest, pk: str, kiosk: bool = False) -> HttpResponseRedirect:
    dashboard = _dashboard(request, pk, ANY_ROLE)
    query = dashboard.graph_query() | ({"kiosk": "1"} if kiosk else {})
    return redirect(f"{reverse('index')}?{urlencode(query)}")


def edit_dashboard(request: HttpRequest, pk: str | None = None) -> HttpResponse:
    dashboard = _dashboard(request, pk, {"admin"}) if pk else Dashboard()
    teams = _teams(request, {"admin"})
    if not teams.exists():
        raise PermissionDenied("Creating a dashboard needs the team admin role in a team.")
    if request.method == "POST":
        form = DashboardForm(request.POST, instance=dashboard, teams=teams)
        if form.is_valid():
            saved = services.save(form, request.user)
            messages.success(request, f"Saved {saved.name}.")
            return redirect("team", slug=saved.team.slug)
    else:
        form = DashboardForm(
            instance=dashboard, teams=teams, initial={"team": request.GET.get("team")}
        )
    return render(request, "dashboards/edit.html", {"form": form, "dashboard": dashboard})


@require_POST
def duplicate_dashboard(request: HttpRequest, pk: str) -> HttpResponse:
    copy = services.duplicate(_dashboard(request, pk, {"admin"}), request.user)
    messages.success(request, f"Made {copy.name}.")
    return redirect("team", slug=copy.team.slug)


@require_POST
def delete_dashboard(request: HttpRequest, pk: str) -> HttpResponse:
    dashboard = _dashboard(request, pk, {"admin"})
    slug = dashboard.team.slug
    dashboard.delete()
    messages.success(request, f"Deleted {dashboard.name}.")
    return redirect("team", slug=slug)
