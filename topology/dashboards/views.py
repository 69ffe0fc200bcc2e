"""Dashboard pages: members open their teams' dashboards, team admins make and change them."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from topology.dashboards import services
from topology.dashboards.forms import DashboardForm
from topology.dashboards.models import Dashboard
from topology.teams import access
from topology.teams.access import Role
from topology.teams.models import Team


def _get_dashboard_for_user(request: HttpRequest, pk: str, role: str) -> Dashboard:
    """The dashboard, for a page that needs ``role`` in its team; 403 for anyone else (another
    team's member learns no more than that it is not theirs)."""
    dashboard = get_object_or_404(Dashboard.objects.select_related("team"), pk=pk)
    if not access.has_role(request.user, dashboard.team_id, role):
        if access.has_role(request.user, dashboard.team_id, Role.VIEWER):
            raise PermissionDenied("Changing a dashboard needs the team admin role.")
        raise PermissionDenied("This dashboard belongs to another team.")
    return dashboard


@require_GET
def open_dashboard(request: HttpRequest, pk: str, kiosk: bool = False) -> HttpResponseRedirect:
    dashboard = _get_dashboard_for_user(request, pk, Role.VIEWER)
    query = dashboard.graph_query() | ({"kiosk": "1"} if kiosk else {})
    return redirect(f"{reverse('index')}?{urlencode(query)}")


@require_http_methods(["GET", "POST"])
def edit_dashboard(request: HttpRequest, pk: str | None = None) -> HttpResponse:
    dashboard = _get_dashboard_for_user(request, pk, Role.ADMIN) if pk else Dashboard()
    teams = Team.objects.with_role(request.user, Role.ADMIN)
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
    copy = services.duplicate(_get_dashboard_for_user(request, pk, Role.ADMIN), request.user)
    messages.success(request, f"Made {copy.name}.")
    return redirect("team", slug=copy.team.slug)


@require_POST
def delete_dashboard(request: HttpRequest, pk: str) -> HttpResponse:
    dashboard = _get_dashboard_for_user(request, pk, Role.ADMIN)
    slug = dashboard.team.slug
    dashboard.delete()
    messages.success(request, f"Deleted {dashboard.name}.")
    return redirect("team", slug=slug)
