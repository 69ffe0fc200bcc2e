from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from topology.dashboards import page as dashboard_page
from topology.demos import views as demo_views
from topology.inventory import health, services
from topology.inventory.forms import EngineRegistrationForm
from topology.teams import access
from topology.teams.models import Team

# The dashboard runs only our own static scripts and styles; daemon data reaches it as JSON
# over the websocket and is put into the page with textContent (never as markup).
DASHBOARD_CSP = "; ".join(
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
    """The live dashboard; the graph itself arrives over the websocket.

    ``?dashboard=<id>`` adds a saved dashboard's tiles and pinned positions; ``?kiosk=1`` is the
    wall-screen form: the graph and the tiles only, no controls.
    """
    kiosk = request.GET.get("kiosk") == "1"
    dashboard = dashboard_page.requested_dashboard(request)
    config = {
        "websocketPath": "/ws/topology/",
        "graphUrl": reverse("api-topology"),
        "dotUrl": reverse("api-topology-dot"),
        "loginUrl": reverse("login"),
        "vendor": static("vendor/"),
        "kiosk": kiosk,
        "dashboard": dashboard_page.page_config(request, dashboard) if dashboard else None,
    }
    context = {"dashboard_config": config, "kiosk": kiosk, "dashboard": dashboard}
    if not kiosk:
        context["launch"] = demo_views.launch_context(request.user)
    response = render(request, "inventory/index.html", context)
    response["Content-Security-Policy"] = DASHBOARD_CSP
    return response


def register_engine(request: HttpRequest, slug: str) -> HttpResponse:
    """A team admin registers a root engine; the connection is tested before it is saved.

    Someone outside the team gets a 404, as on the team's page: the slug tells them nothing."""
    team = get_object_or_404(Team, slug=slug)
    if not access.has_team_role(request.user, team.pk, {"viewer", "operator", "admin"}):
        raise Http404("No such team.")
    if not access.has_team_role(request.user, team.pk, {"admin"}):
        raise PermissionDenied("Registering an engine needs the team admin role in this team.")
    may_allow_insecure = request.user.is_superuser
    if request.method == "POST":
        form = EngineRegistrationForm(
            request.POST, request.FILES, may_allow_insecure=may_allow_insecure
        )
        if form.is_valid():
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
