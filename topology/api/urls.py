"""API routes. DRF authenticates every one of them itself (session or token): they are exempt
from the login redirect and answer 401/403 instead."""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from topology.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("hosts", views.HostViewSet, basename="host")
router.register("daemons", views.DaemonViewSet, basename="daemon")
router.register("containers", views.ContainerViewSet, basename="container")
router.register("dashboards", views.DashboardViewSet, basename="dashboard")


def _exempt(patterns: list[URLPattern]) -> list[URLPattern]:
    return [
        URLPattern(p.pattern, login_not_required(p.callback), p.default_args, p.name)
        for p in patterns
    ]


urlpatterns = [
    *_exempt(router.urls),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path(
        "docs/",
        login_not_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]
