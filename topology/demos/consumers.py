"""Demo progress over a websocket (``/ws/demos/``): members watch their teams' demos.

On connect: 4401 unless authenticated, then the list of demos the user may see (their teams'
and the shared ones, ``Demo.objects.visible_to``); after that each progress message from
``services`` about such a demo is forwarded as it comes, the others are dropped. Clients only
listen here: launching and deleting go through the REST API, which checks the roles.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from topology.demos import services
from topology.demos.models import Demo
from topology.teams.models import Team

UNAUTHENTICATED = 4401


@database_sync_to_async
def _visible(user: Any) -> tuple[list[dict[str, Any]], set[str] | None]:
    """The demos ``user`` may see, and the slugs of the teams that decide it (None: all)."""
    visible = Demo.objects.select_related("owner", "team").visible_to(user)
    return [services.describe(demo) for demo in visible], _team_slugs(user)


def _team_slugs(user: Any) -> set[str] | None:
    if user.is_superuser:
        return None
    return set(Team.objects.visible_to(user).values_list("slug", flat=True))


class DemoProgressConsumer(AsyncJsonWebsocketConsumer):
    teams: set[str] | None = set()

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(services.PROGRESS_GROUP, self.channel_name)
        self.groups.append(services.PROGRESS_GROUP)
        demos, self.teams = await _visible(user)
        await self.send_json({"type": "demos", "demos": demos})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "code": "read_only", "message": "this socket only reports"}
            )

    async def demo_progress(self, event: dict[str, Any]) -> None:
        team = event["message"]["demo"].get("team")
        if self.teams is not None and team is not None and team not in self.teams:
            # A team new to us: the user may have joined it since connecting.
            self.teams = await database_sync_to_async(_team_slugs)(self.scope["user"])
            if self.teams is not None and team not in self.teams:
                return
        await self.send_json(event["message"])
