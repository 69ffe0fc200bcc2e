"""Containers configured as Docker clients of a daemon over TCP (``DOCKER_HOST``), and which
known daemon that names: pure functions of plain data.

A container's environment never leaves the server: of ``Config.Env`` only ``DOCKER_HOST`` (and
``DOCKER_TLS_VERIFY``, for the default port) is looked at, parsed at once into a
``ClientAddress`` that lives in memory during one poll; only the daemon it resolves to is kept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from topology.engine.types import ClientAddress

HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
ENGINE_PORTS = (2375, 2376)
#: Names a container uses for the machine its engine runs on.
HOST_NAMES = {"host.docker.internal", "gateway.docker.internal", "host.containers.internal"}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def client_address(env: Any) -> ClientAddress | None:
    """The TCP daemon ``DOCKER_HOST`` names in a ``Config.Env`` list (``["K=V", ...]``), or
    None (unset, another scheme, or not an address). Nothing else of the list is kept."""
    if not isinstance(env, list):
        return None
    value = None
    tls = False
    for item in env:
        if not isinstance(item, str):
            continue
        key, _, rest = item.partition("=")
        if key == "DOCKER_HOST":
            value = rest.strip()
        elif key == "DOCKER_TLS_VERIFY":
            tls = rest.strip() not in ("", "0", "false")
    if not value or len(value) > 300:
        return None
    if "://" not in value:
        value = f"tcp://{value}"
    try:
        parts = urlsplit(value)
        port = parts.port
        host = parts.hostname or ""
    except ValueError:
        return None
    if parts.scheme not in {"tcp", "http", "https"} or not _is_host(host):
        return None
    default = 2376 if tls or parts.scheme == "https" else 2375
    return ClientAddress(host=host.lower(), port=port or default)


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(HOST_NAME.match(host))
    return True


@dataclass(frozen=True)
class Candidate:
    """A daemon a client could reach, and by what: the names and addresses of the container it
    runs in on each network, and that container's published ports (public to private)."""

    engine_id: str
    names_by_network: dict[str, frozenset[str]] = field(default_factory=dict)
    addresses: frozenset[str] = frozenset()
    published: dict[int, int] = field(default_factory=dict)
    endpoint: str = ""


@dataclass(frozen=True)
class Client:
    """The client container's side: the networks it is on and its network mode."""

    networks: frozenset[str]
    network_mode: str = ""


def resolve(address: ClientAddress, client: Client, candidates: Iterable[Candidate]) -> str | None:
    """The engine ID ``address`` leads to from ``client``, or None.

    In order: the endpoint by which the project reaches a daemon (``tcp://host:port``); a name
    (container name or network alias) on a user network both share; an address of the DinD
    container; a port the DinD container publishes, reached through the host (``host.docker.
    internal``, the host's loopback from a host-network client, or an address no container
    has). The default bridge has no names.
    """
    candidates = list(candidates)
    wanted = f"tcp://{address.host}:{address.port}"
    for candidate in candidates:
        if candidate.endpoint.lower() == wanted:
            return candidate.engine_id
    shared_names = [
        candidate
        for candidate in candidates
        if any(
            address.host in names
            for network, names in candidate.names_by_network.items()
            if network in client.networks and network not in {"bridge", "host", "none"}
        )
    ]
    if len(shared_names) == 1:
        return shared_names[0].engine_id
    by_address = [c for c in candidates if address.host in c.addresses]
    if len(by_address) == 1:
        return by_address[0].engine_id
    if shared_names or by_address:
        return None  # more than one daemon answers to it: no guess
    through_host = address.host in HOST_NAMES or (
        address.host in LOOPBACK_NAMES and client.network_mode == "host"
    )
    if not through_host and not _is_ip(address.host):
        return None
    publishing = [c for c in candidates if c.published.get(address.port) in ENGINE_PORTS or False]
    return publishing[0].engine_id if len(publishing) == 1 else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
