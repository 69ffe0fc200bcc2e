"""The demos' API routes, under ``/api/``."""

from django.urls import URLPattern, path

from topology.demos.api import views

urlpatterns: list[URLPattern] = [
    path("demos/", views.DemoListView.as_view(), name="api-demos"),
    path("demos/<uuid:demo_id>/", views.DemoDetailView.as_view(), name="api-demo"),
    path("demos/comparison/", views.DemoComparisonView.as_view(), name="api-demos-comparison"),
    path("demos/<uuid:demo_id>/build/", views.DemoBuildView.as_view(), name="api-demo-build"),
    path("demos/<uuid:demo_id>/retry/", views.DemoRetryView.as_view(), name="api-demo-retry"),
]
