"""Who an engine is, whatever implements it: one stable engine ID per engine.

Docker's ``GET /info`` ``ID`` is kept on disk by the daemon and is stable: it is the identity.
Podman's Docker-compatible ``/info`` answers a new random ``ID`` on every call, so a Podman
engine is identified by what it keeps: its host name and its store (graph root and run root,
from the libpod API's ``GET /libpod/info``); two sockets of one Podman store are one engine.
An engine that answers no usable ID is identified by the route the project reaches it by.

Everything here reads answers of an engine, which are untrusted: any shape is accepted and
what is not the documented shape is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

DOCKER = "docker"
PODMAN = "podman"
UNKNOWN = "unknown"

#: Where the engine ID came from (the daemon node's ``identity`` field).
FROM_ENGINE = "engine-id"
FROM_STORE = "store"
FROM_ROUTE = "route"

#: An engine ID the project accepts as the engine's own: what Docker answers (``ABCD:EFGH:...``
#: or a UUID), no separators the graph uses in edge ids (``->``, ``/``), no spaces.
USABLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$")
TEXT_LIMIT = 255


@dataclass(frozen=True)
class Identity:
    engine_id: str
    engine: str
    source: str


def text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """``value`` if it is a string (cut to ``limit``, control characters dropped), else ``""``."""
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value if ch.isprintable())[:limit]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def engine_kind(version_answer: Any = None, info_answer: Any = None) -> str:
    """``docker``, ``podman`` or ``unknown``, from ``GET /version`` (its components name the
    engine) or, without it, from ``GET /info`` (only Podman's has ``BuildahVersion``)."""
    components = _mapping(version_answer).get("Components")
    names = [
        text(_mapping(component).get("Name")).lower()
        for component in (components if isinstance(components, list) else ())
    ]
    if any("podman" in name for name in names):
        return PODMAN
    if "engine" in names:
        return DOCKER
    platform = text(_mapping(_mapping(version_answer).get("Platform")).get("Name")).lower()
    if "podman" in platform:
        return PODMAN
    if "docker" in platform:
        return DOCKER
    info = _mapping(info_answer)
    if "BuildahVersion" in info:
        return PODMAN
    if info.get("ID") and ("Swarm" in info or "ContainerdCommit" in info):
        return DOCKER
    return UNKNOWN


def engine_version(kind: str, version_answer: Any, info_answer: Any) -> str:
    """The engine's own version: Podman's from its ``Podman Engine`` component, else the
    ``ServerVersion`` of ``/info``."""
    if kind == PODMAN:
        components = _mapping(version_answer).get("Components")
        for component in components if isinstance(components, list) else ():
            if "podman" in text(_mapping(component).get("Name")).lower():
                found = text(_mapping(component).get("Version"), 64)
                if found:
                    return found
    return text(_mapping(info_answer).get("ServerVersion"), 64) or text(
        _mapping(version_answer).get("Version"), 64
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def podman_store_identity(libpod_info: Any) -> str | None:
    """``podman-<digest>`` of the host name, graph root and run root that ``/libpod/info``
    reports, or None when it does not report them."""
    host = _mapping(_mapping(libpod_info).get("host"))
    store = _mapping(_mapping(libpod_info).get("store"))
    hostname = text(host.get("hostname"))
    graph_root = text(store.get("graphRoot"), 4096)
    run_root = text(store.get("runRoot"), 4096)
    if not (hostname and graph_root):
        return None
    return f"podman-{_digest(hostname, graph_root, run_root)}"


def route_identity(route_key: str) -> str:
    """An engine ID for an engine that gives none: ``route-<digest of how we reach it>``."""
    return f"route-{_digest(route_key)}"


def identify(
    route_key: str, info_answer: Any, version_answer: Any = None, libpod_info: Any = None
) -> Identity:
    """The engine's identity from its answers (any of which may be None or nonsense)."""
    kind = engine_kind(version_answer, info_answer)
    if kind == PODMAN:
        store = podman_store_identity(libpod_info)
        if store:
            return Identity(store, kind, FROM_STORE)
        return Identity(route_identity(route_key), kind, FROM_ROUTE)
    engine_id = text(_mapping(info_answer).get("ID"))
    if USABLE_ID.match(engine_id):
        return Identity(engine_id, kind, FROM_ENGINE)
    return Identity(route_identity(route_key), kind, FROM_ROUTE)
