"""The dashboards' API routes, under ``/api/``."""

from django.urls import URLPattern
from rest_framework.routers import DefaultRouter

from topology.dashboards.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("dashboards", views.DashboardViewSet, basename="dashboard")

urlpatterns: list[URLPattern] = router.urls
