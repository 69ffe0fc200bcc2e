"""A daemon's image cache as its engine describes it, shapes checked.

``GET /images/json`` (one call) and ``docker image inspect`` (the CLI, for a nested daemon read
by exec) both give, per image, its ID, tags, repository digests, size and labels. Whatever an
engine answers is untrusted input: a listing that is not a list of objects, an ID that is not a
digest, a tag that is not an image reference, a size that is not a whole number of bytes is a
``MalformedAnswer`` naming the item.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from topology.engine.errors import MalformedAnswer
from topology.engine.networks import _labels, _list, _object, list_of_objects, parse_time
from topology.engine.references import is_untagged, parse_reference
from topology.engine.types import ImageInfo

IMAGE_ID = re.compile(r"^[a-z0-9]{1,32}:[0-9a-f]{32,128}$")
MAX_SIZE = 2**53  # bytes: no real image comes near; an engine claiming more is not telling
MAX_TAGS = 1000


def _image_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not IMAGE_ID.match(value):
        raise MalformedAnswer(f"{what} Id is not an image ID")
    return value


def _size(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE:
        raise MalformedAnswer(f"{what} Size is not a number of bytes")
    return value


def _created(value: Any, what: str) -> datetime | None:
    if isinstance(value, bool):
        raise MalformedAnswer(f"{what} Created is not a time")
    if isinstance(value, int):
        if not 0 < value < 2**33:
            return None
        return datetime.fromtimestamp(value, UTC)
    moment = parse_time(value, f"{what} Created")  # whole seconds, as the API's listing says
    return moment.replace(microsecond=0) if moment else None


def _references(value: Any, what: str, digest: bool) -> tuple[str, ...]:
    items = _list(value, what)
    if len(items) > MAX_TAGS:
        raise MalformedAnswer(f"{what} has more than {MAX_TAGS} items")
    found = []
    for index, item in enumerate(items):
        if isinstance(item, str) and is_untagged(item):
            continue
        reference = parse_reference(item, f"{what} item {index}")
        if digest != bool(reference.digest) or (digest and reference.tag):
            kind = "a repository digest" if digest else "a tag"
            raise MalformedAnswer(f"{what} item {index} is not {kind}")
        if item not in found:
            found.append(item)
    return tuple(found)


def image_from_api(item: dict[str, Any], what: str = "image") -> ImageInfo:
    """One image of ``GET /images/json`` (``Labels`` at the top, ``Created`` in seconds) or of
    ``docker image inspect`` (``Config.Labels``, ``Created`` in RFC 3339)."""
    labels = item.get("Labels")
    if labels is None and "Config" in item:
        labels = _object(item.get("Config"), f"{what} Config").get("Labels")
    return ImageInfo(
        id=_image_id(item.get("Id"), what),
        tags=_references(item.get("RepoTags"), f"{what} RepoTags", digest=False),
        digests=_references(item.get("RepoDigests"), f"{what} RepoDigests", digest=True),
        size=_size(item.get("Size"), what),
        created=_created(item.get("Created"), what),
        labels=_labels(labels, f"{what} Labels"),
    )


def _parsed(items: list[dict[str, Any]], what: str) -> list[ImageInfo]:
    by_id: dict[str, ImageInfo] = {}
    for index, item in enumerate(items):
        image = image_from_api(item, f"image item {index}")
        by_id.setdefault(image.id, image)
    return list(by_id.values())


def images_from_api(payload: Any) -> list[ImageInfo]:
    """``GET /images/json``: a list of image objects."""
    return _parsed(list_of_objects(payload, "the image listing"), "the image listing")


def images_from_inspect(payload: Any) -> list[ImageInfo]:
    """``docker image inspect <id>...``: a list of image objects (an ID listed twice, once)."""
    return _parsed(list_of_objects(payload, "the image inspect"), "the image inspect")
