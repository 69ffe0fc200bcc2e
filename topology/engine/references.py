"""Docker image references (``[registry/]path[:tag][@digest]``) read with Docker's own rules.

The grammar is distribution/reference's: lowercase path components joined by ``/`` with
``.``, ``_``, ``__`` or dashes inside them, a tag of at most 128 word characters, dots and
dashes, a digest ``algorithm:hex``, the whole name at most 255 characters. Where the
repository lives follows ``splitDockerDomain``: a first component with no dot, no colon, not
``localhost`` and no capital letter is a path on Docker Hub (``docker.io``, whose one-word
repositories are under ``library/``); ``index.docker.io`` is Docker Hub too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from topology.engine.errors import MalformedAnswer

DOCKER_HUB = "docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"
MAX_NAME = 255
PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = rf"(?:{DOMAIN_COMPONENT}(?:\.{DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?"
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(
    rf"^(?P<name>(?:{DOMAIN}/)?{PATH_COMPONENT}(?:/{PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{TAG}))?(?:@(?P<digest>{DIGEST}))?$"
)
UNTAGGED = ("<none>:<none>", "<none>@<none>")


@dataclass(frozen=True)
class Reference:
    """A reference split the way Docker splits it: ``registry`` is ``docker.io`` for Docker
    Hub, ``repository`` the path there (``library/busybox``)."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


def split_domain(name: str) -> tuple[str, str]:
    """``name`` (no tag, no digest) as (registry, repository), as ``splitDockerDomain`` does."""
    first, slash, rest = name.partition("/")
    a_path = not any(char in first for char in ".:") and first != "localhost"
    if not slash or (a_path and first == first.lower()):
        registry, repository = DOCKER_HUB, name
    else:
        registry, repository = first, rest
    if registry == LEGACY_DOCKER_HUB:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository


def parse_reference(text: str, what: str = "reference") -> Reference:
    """``text`` as a ``Reference``, or ``MalformedAnswer`` saying it is not one."""
    if not isinstance(text, str):
        raise MalformedAnswer(f"{what} is not text")
    match = REFERENCE.match(text)
    if match is None or len(match["name"]) > MAX_NAME:
        raise MalformedAnswer(f"{what} {text[:80]!r} is not an image reference")
    registry, repository = split_domain(match["name"])
    return Reference(registry, repository, match["tag"] or "", match["digest"] or "")


def is_untagged(text: str) -> bool:
    """The ``<none>:<none>`` (or ``<none>@<none>``) an engine lists for an image with no tag."""
    return text in UNTAGGED
