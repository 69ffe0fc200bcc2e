from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from topology.inventory import api, views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # DRF authenticates API requests itself (session or token) and answers 401/403, not a redirect.
    path("api/topology/", login_not_required(api.TopologyView.as_view()), name="api-topology"),
]
