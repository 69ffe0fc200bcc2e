"""Bounds on what the REST API reads (JSON bodies) and answers (pages); the settings name
these classes as REST framework's defaults."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def nesting_depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """REST framework's JSON parser, bounded: a body nested deeper than ``MAX_JSON_DEPTH``
    levels is a 400, where a very deep one used to be a RecursionError (a 500) in the parser,
    and a merely deep one could become one further on."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise too_deep from error
        if nesting_depth(data) > MAX_JSON_DEPTH:
            raise too_deep
        return data


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` up to ``max_limit`` rows a page (asking for more gets that many), so no
    request reads a whole table in one answer."""

    max_limit = 1000
