from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from topology.dashboards import views as dashboard_views
from topology.demos import api as demo_api
from topology.demos import views as demo_views
from topology.inventory import api, views
from topology.teams import views as team_views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # DRF authenticates API requests itself (session or token) and answers 401/403, not a redirect.
    path("api/topology/", login_not_required(api.TopologyView.as_view()), name="api-topology"),
    path(
        "api/topology.dot",
        login_not_required(api.TopologyDotView.as_view()),
        name="api-topology-dot",
    ),
    path("demos/", demo_views.demo_list, name="demos"),
    path("demos/<uuid:demo_id>/", demo_views.demo_detail, name="demo"),
    path("api/demos/", login_not_required(demo_api.DemoListView.as_view()), name="api-demos"),
    path(
        "api/demos/<uuid:demo_id>/",
        login_not_required(demo_api.DemoDetailView.as_view()),
        name="api-demo",
    ),
    path(
        "api/demos/comparison/",
        login_not_required(demo_api.DemoComparisonView.as_view()),
        name="api-demos-comparison",
    ),
    path(
        "api/demos/<uuid:demo_id>/build/",
        login_not_required(demo_api.DemoBuildView.as_view()),
        name="api-demo-build",
    ),
    path(
        "api/demos/<uuid:demo_id>/retry/",
        login_not_required(demo_api.DemoRetryView.as_view()),
        name="api-demo-retry",
    ),
    path("api/", include("topology.api.urls")),
    path("teams/", dashboard_views.team_list, name="teams"),
    path("teams/<slug:slug>/", dashboard_views.team_home, name="team"),
    path("teams/<slug:slug>/engines/new/", views.register_engine, name="engine-new"),
    path("teams/<slug:slug>/members/", team_views.members, name="team-members"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/remove/",
        team_views.remove_member,
        name="team-member-remove",
    ),
    path("dashboards/new/", dashboard_views.edit_dashboard, name="dashboard-new"),
    path("dashboards/<uuid:pk>/", dashboard_views.open_dashboard, name="dashboard"),
    path(
        "dashboards/<uuid:pk>/kiosk/",
        dashboard_views.open_dashboard,
        {"kiosk": True},
        name="dashboard-kiosk",
    ),
    path("dashboards/<uuid:pk>/edit/", dashboard_views.edit_dashboard, name="dashboard-edit"),
    path(
        "dashboards/<uuid:pk>/duplicate/",
        dashboard_views.duplicate_dashboard,
        name="dashboard-duplicate",
    ),
    path("dashboards/<uuid:pk>/delete/", dashboard_views.delete_dashboard, name="dashboard-delete"),
]
