"""Dashboard pages."""

from django.urls import URLPattern, path

from topology.dashboards import views

urlpatterns: list[URLPattern] = [
    path("dashboards/new/", views.edit_dashboard, name="dashboard-new"),
    path("dashboards/<uuid:pk>/", views.open_dashboard, name="dashboard"),
    path(
        "dashboards/<uuid:pk>/kiosk/",
        views.open_dashboard,
        {"kiosk": True},
        name="dashboard-kiosk",
    ),
    path("dashboards/<uuid:pk>/edit/", views.edit_dashboard, name="dashboard-edit"),
    path("dashboards/<uuid:pk>/duplicate/", views.duplicate_dashboard, name="dashboard-copy"),
    path("dashboards/<uuid:pk>/delete/", views.delete_dashboard, name="dashboard-delete"),
]
