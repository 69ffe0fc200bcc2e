"""The inventory's pages."""

from django.urls import URLPattern, path

from topology.inventory import views

urlpatterns: list[URLPattern] = [
    path("teams/<slug:slug>/engines/new/", views.register_engine, name="engine-new"),
    path(
        "containers/<str:container>/terminal/", views.container_terminal, name="container-terminal"
    ),
]
