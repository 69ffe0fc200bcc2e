"""Registering a root engine from a team's page; a terminal in a container."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from topology.inventory import container_access, services
from topology.inventory.forms import EngineRegistrationForm
from topology.inventory.terminals import WARNING
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


# xterm.js sizes and colours its rows with style elements of its own: this page alone allows
# inline styles (scripts stay our own; the shell's output is drawn as text, never markup).
TERMINAL_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@require_GET
def container_terminal(request: HttpRequest, container: str) -> HttpResponse:
    """A shell in a running container (root on its engine): for whom ``terminal_grant`` says.

    A container the user may not see is a 404; one they see but may not open, a 403 that says
    why. The websocket checks again: this page only draws the terminal."""
    target = container_access.reach(request.user, f"container:{container}")
    if target is None:
        raise Http404("No such container.")
    allowed_by, refusal = container_access.terminal_grant(request.user, target)
    if allowed_by is None:
        raise PermissionDenied(refusal)
    config = {
        "websocketPath": f"/ws/terminal/{target.container.container_id}/",
        "idleSeconds": settings.TOPOLOGY_TERMINAL_IDLE_SECONDS,
        "container": target.container.name,
    }
    context = {
        "target": target,
        "engine": target.container.daemon,
        "warning": WARNING,
        "allowed_by": allowed_by,
        "terminal_config": config,
    }
    response = render(request, "inventory/terminal.html", context)
    response["Content-Security-Policy"] = TERMINAL_CSP
    return response
