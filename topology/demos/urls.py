"""Demo pages."""

from django.urls import URLPattern, path

from topology.demos import views

urlpatterns: list[URLPattern] = [
    path("demos/", views.demo_list, name="demos"),
    path("demos/<uuid:demo_id>/", views.demo_detail, name="demo"),
]
