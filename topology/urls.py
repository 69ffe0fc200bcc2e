"""The project's routes: its own pages, then each app's pages and API, included whole.

API views need no login marking: ``request_checks.LoginRequiredForPages`` leaves every REST
framework view to REST framework, which takes a session or a token and answers 401.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from topology import views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("teams/", views.team_list, name="teams"),
    path("teams/<slug:slug>/", views.team_home, name="team"),
    path("", include("topology.teams.urls")),
    path("", include("topology.inventory.urls")),
    path("", include("topology.dashboards.urls")),
    path("", include("topology.demos.urls")),
    path("api/", include("topology.inventory.api.urls")),
    path("api/", include("topology.dashboards.api.urls")),
    path("api/", include("topology.demos.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
