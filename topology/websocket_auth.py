"""Websocket authentication: a session cookie (browsers) or ``Authorization: Token <key>``."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from a token header when the session gave no user."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
            keyword, _, key = header.partition(" ")
            if keyword.lower() == "token" and key.strip():
                scope["user"] = await _user_for_token(key.strip())
        return await super().__call__(scope, receive, send)


def TokenOrSessionAuthMiddlewareStack(inner: Any) -> Any:
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class OriginOrTokenValidator:
    """Browsers must send an Origin that matches ``ALLOWED_HOSTS``: that is what stops another
    site from opening a websocket with the user's session cookie. A client that sends no
    Origin and an ``Authorization: Token`` header is a script, not a browser (browsers always
    send Origin on websockets and cannot set that header), so it is let through to the token
    check without one."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.origin_checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        keyword = headers.get(b"authorization", b"").split(b" ", 1)[0].lower()
        if b"origin" not in headers and keyword == b"token":
            return await self.inner(scope, receive, send)
        return await self.origin_checked(scope, receive, send)
