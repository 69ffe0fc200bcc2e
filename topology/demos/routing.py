from django.urls import URLPattern, path

from topology.demos.consumers import DemoProgressConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/demos/", DemoProgressConsumer.as_asgi(), name="ws-demos"),
]
