"""Websocket authentication: a session cookie (browsers) or ``Authorization: Token <key>``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
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


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin (``scheme://host[:port]``); None if it is none."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _trusted(origin: tuple[str, str, int], pattern: str) -> bool:
    """``CSRF_TRUSTED_ORIGINS`` as Django reads it: ``https://example.com``, or a wildcard for
    subdomains, ``https://*.example.com``; the scheme and the port count."""
    wildcard = "://*." in pattern
    wanted = _origin_parts(pattern.replace("://*.", "://", 1))
    if wanted is None:
        return False
    scheme, host, port = origin
    if wildcard:
        return (scheme, port) == (wanted[0], wanted[2]) and (
            host == wanted[1] or host.endswith("." + wanted[1])
        )
    return origin == wanted


def origin_allowed(origin: str, scope: dict) -> bool:
    """A browser's websocket comes from the site's own origin (scheme, host and port: the page
    it serves at the ``Host`` it answers to, which ``ALLOWED_HOSTS`` must allow), or from one of
    ``CSRF_TRUSTED_ORIGINS``. Any other page, another port of the same machine included, may
    not read the map with the visitor's session cookie (cookies do not care about ports)."""
    parts = _origin_parts(origin)
    if parts is None:
        return False
    if any(_trusted(parts, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS):
        return True
    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1").strip()
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return parts == (scheme, domain.lower(), int(port) if port else DEFAULT_PORTS[scheme])


class OriginOrTokenValidator:
    """Browsers must send the site's own Origin (``origin_allowed``): that is what stops another
    site, or another port of this machine, from opening a websocket with the user's session
    cookie. A client that sends no Origin and an ``Authorization: Token`` header is a script,
    not a browser (browsers always send Origin on websockets and cannot set that header), so it
    is let through to the token check without one."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        keyword = headers.get(b"authorization", b"").split(b" ", 1)[0].lower()
        if b"origin" not in headers and keyword == b"token":
            return await self.inner(scope, receive, send)
        if origin_allowed(headers.get(b"origin", b"").decode("latin-1"), scope):
            return await self.inner(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
