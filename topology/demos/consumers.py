"""Demo progress over a websocket (``/ws/demos/``): every logged-in user may watch.

On connect: 4401 unless authenticated, then the list of demos; after that each progress
message from ``services`` is forwarded as it comes. Clients only listen here: launching and
deleting go through the REST API, which checks the ``launch_demo`` permission.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from topology.demos import services
from topology.demos.models import Demo

UNAUTHENTICATED = 4401


@database_sync_to_async
def _all_demos() -> list[dict[str, Any]]:
    return [services.describe(demo) for demo in Demo.objects.select_related("owner")]


class DemoProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(services.PROGRESS_GROUP, self.channel_name)
        self.groups.append(services.PROGRESS_GROUP)
        await self.send_json({"type": "demos", "demos": await _all_demos()})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "code": "read_only", "message": "this socket only reports"}
            )

    async def demo_progress(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
