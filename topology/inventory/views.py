"""Registering a root engine from a team's page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from topology.inventory import services
from topology.inventory.forms import EngineRegistrationForm
from topology.teams import access
from topology.teams.access import Role


@require_http_methods(["GET", "POST"])
def register_engine(request: HttpRequest, slug: str) -> HttpResponse:
    """A team admin registers a root engine (tcp:// with TLS, or ssh://; a site admin also a
    local socket); the connection is tested before it is saved, and an engine already known is
    refused.

    Someone outside the team gets a 404, as on the team's page: the slug tells them nothing."""
    team = access.team_for(request, slug, Role.ADMIN)
    may_allow_insecure = request.user.is_superuser
    if request.method == "POST":
        form = EngineRegistrationForm(
            request.POST, request.FILES, may_allow_insecure=may_allow_insecure
        )
        if form.is_valid():
            forbidden = services.registration_forbidden(request.user, form.credentials())
            if forbidden is not None:
                raise PermissionDenied(forbidden)
            try:
                endpoint = services.register_endpoint(
                    {**form.credentials(), "team": team}, settings.RUN_DIR / "tls"
                )
            except services.RegistrationRefused as refusal:
                again = " Choose the files again: they are not kept." if request.FILES else ""
                form.add_error("url", f"{refusal}{again}")
            else:
                messages.success(request, f"Registered {endpoint.name}; it is polled from now on.")
                return redirect("team", slug=team.slug)
    else:
        form = EngineRegistrationForm(may_allow_insecure=may_allow_insecure)
    return render(request, "inventory/register_engine.html", {"form": form, "team": team})
