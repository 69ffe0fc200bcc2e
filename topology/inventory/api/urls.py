"""The inventory's API routes, under ``/api/``."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import DefaultRouter

from topology.inventory.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("hosts", views.HostViewSet, basename="host")
router.register("daemons", views.DaemonViewSet, basename="daemon")
router.register("containers", views.ContainerViewSet, basename="container")

urlpatterns: list[URLPattern | URLResolver] = [
    path("topology/", views.TopologyView.as_view(), name="api-topology"),
    path("topology.dot", views.TopologyDotView.as_view(), name="api-topology-dot"),
    *router.urls,
]
