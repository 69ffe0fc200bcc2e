"""Checks on every request before any view sees it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.views import APIView


class RejectNulCharacters:
    """A query string with a NUL character gets a 400: no view looks it up, and PostgreSQL
    refuses NUL in text (which would otherwise surface as a 500 from any filter). Every value
    of a repeated key counts (``?name=a&name=b\\x00``), not only the last one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return JsonResponse(
                {"detail": "The query string contains a NUL character."}, status=400
            )
        return self.get_response(request)


def is_api_view(view_func: Callable[..., Any]) -> bool:
    """A REST framework view (an ``APIView`` or a viewset, as ``as_view`` made it)."""
    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


class LoginRequiredForPages(LoginRequiredMiddleware):
    """Every page needs a login (a redirect to the form) unless marked ``login_not_required``.

    API views are left to REST framework, which authenticates each request itself, by token or
    session (``DEFAULT_AUTHENTICATION_CLASSES``), requires a user (``IsAuthenticated``) and
    answers 401 or 403 rather than a redirect a script could not follow.
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if is_api_view(view_func):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
