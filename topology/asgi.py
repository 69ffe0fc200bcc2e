"""ASGI entry point: Django for HTTP, Channels for the websocket (origin-checked, authenticated)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from topology.demos.routing import websocket_urlpatterns as demo_routes  # noqa: E402
from topology.inventory.routing import websocket_urlpatterns as topology_routes  # noqa: E402
from topology.websocket_auth import (  # noqa: E402
    OriginOrTokenValidator,
    TokenOrSessionAuthMiddlewareStack,
)

websocket_urlpatterns = topology_routes + demo_routes

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginOrTokenValidator(
            TokenOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
