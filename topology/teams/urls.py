"""A team's members pages."""

from django.urls import URLPattern, path

from topology.teams import views

urlpatterns: list[URLPattern] = [
    path("teams/<slug:slug>/members/", views.members, name="team-members"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/remove/",
        views.remove_member,
        name="team-member-remove",
    ),
]
