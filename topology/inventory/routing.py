"""Websocket routes (wrapped in origin and authentication checks by ``topology.asgi``)."""

from django.urls import URLPattern, path

from topology.inventory.consumers import TopologyConsumer
from topology.inventory.terminals import TerminalConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/topology/", TopologyConsumer.as_asgi(), name="ws-topology"),
    path("ws/terminal/<str:container>/", TerminalConsumer.as_asgi(), name="ws-terminal"),
]
