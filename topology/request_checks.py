"""Checks on every request before any view sees it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectNulCharacters:
    """A query string with a NUL character gets a 400: no view looks it up, and PostgreSQL
    refuses NUL in text (which would otherwise surface as a 500 from any filter)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            return JsonResponse(
                {"detail": "The query string contains a NUL character."}, status=400
            )
        return self.get_response(request)
