from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from topology.inventory import health
from topology.inventory.models import Daemon


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
    daemons = Daemon.objects.select_related("host", "container").prefetch_related("containers")
    return render(request, "inventory/index.html", {"daemons": daemons})
