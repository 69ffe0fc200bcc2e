"""Demo progress over a websocket (``/ws/demos/``): members watch their teams' demos.

On connect: 4401 unless authenticated, then the list of demos the user may see (their teams'
and the shared ones, ``Demo.objects.visible_to``); after that each progress message from
``services`` about such a demo is forwarded as it comes, the others are dropped. Clients only
listen here: launching and deleting go through the REST API, which checks the roles.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from topology.demos import services
from topology.demos.models import Demo
from topology.teams.models import Team

UNAUTHENTICATED = 4401
MAX_FRAME_BYTES = 4096  # what this socket hears is a ping at most


@database_sync_to_async
def _visible(user: Any) -> tuple[list[dict[str, Any]], set[str] | None]:
    """The demos ``user`` may see, and the slugs of the teams that decide it (None: all)."""
    visible = Demo.objects.select_related("owner", "team").visible_to(user)
    return [services.describe(demo) for demo in visible], _team_slugs(user)


def _team_slugs(user: Any) -> set[str] | None:
    if user.is_superuser:
        return None
    return set(Team.objects.visible_to(user).values_list("slug", flat=True))


class DemoProgressConsumer(AsyncWebsocketConsumer):
    teams: set[str] | None = set()
    listening = False

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(services.PROGRESS_GROUP, self.channel_name)
        self.groups.append(services.PROGRESS_GROUP)
        demos, self.teams = await _visible(user)
        self.listening = True
        await self.send_json({"type": "demos", "demos": demos})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """A ping is answered; anything else gets an error and the connection stays open: a
        frame over ``MAX_FRAME_BYTES`` is refused unread, a binary frame or one that is not
        JSON is named as such, and every other message is refused (this socket only reports)."""
        if not self.listening:
            return  # closed with 4401
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self._error("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
            return
        if text_data is None:
            await self._error("bad_message", "send JSON text frames")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._error("bad_json", "the frame is not valid JSON")
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self._error("read_only", "this socket only reports")

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def demo_progress(self, event: dict[str, Any]) -> None:
        team = event["message"]["demo"].get("team")
        if self.teams is not None and team is not None and team not in self.teams:
            # A team new to us: the user may have joined it since connecting.
            self.teams = await database_sync_to_async(_team_slugs)(self.scope["user"])
            if self.teams is not None and team not in self.teams:
                return
        await self.send_json(event["message"])
