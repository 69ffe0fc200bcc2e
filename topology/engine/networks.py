"""Networks, volumes and container attachments as an engine describes them, shapes checked.

Whatever an engine answers is untrusted input. Each parser here takes the decoded JSON of one
answer and returns plain dataclasses, or raises ``MalformedAnswer`` naming what was wrong: a
listing that is not a list of objects, a field of the wrong type, an ID that is not an ID, a
subnet that is not a CIDR. ``null`` where the API allows an empty value reads as empty.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from topology.engine.errors import MalformedAnswer
from topology.engine.types import Attachment, NetworkInfo, VolumeInfo

NETWORK_ID = re.compile(r"^[0-9A-Za-z]{1,128}$")
VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
MAX_TEXT = 1024
MAX_NAME = 255
MAX_DRIVER = 64
MAX_SCOPE = 16
MAX_ITEMS = 10_000
BUILT_IN_NETWORKS = ("bridge", "host", "none")

T = TypeVar("T")


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedAnswer(f"{what} is not a list")
    if len(value) > MAX_ITEMS:
        raise MalformedAnswer(f"{what} has more than {MAX_ITEMS} items")
    return value


def object_field(value: Any, what: str) -> dict[str, Any]:
    """``value`` as an object (``null``: empty), or ``MalformedAnswer``."""
    return _object(value, what)


def text_field(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    """``value`` as text of at most ``limit`` characters (``null``: empty), or MalformedAnswer."""
    return _text(value, what, limit)


def labels_field(value: Any, what: str) -> dict[str, str]:
    """``value`` as labels, text to text, or ``MalformedAnswer``."""
    return _labels(value, what)


def list_of_objects(value: Any, what: str) -> list[dict[str, Any]]:
    """``value`` as a list of objects, or ``MalformedAnswer``."""
    if not isinstance(value, list):
        raise MalformedAnswer(f"{what} is not a list of objects")
    items = _list(value, what)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedAnswer(f"{what}: item {index} is not an object")
    return items


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedAnswer(f"{what} is not text")
    if len(value) > limit or "\x00" in value:
        raise MalformedAnswer(f"{what} is not text of at most {limit} characters")
    return value


def _flag(value: Any, what: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # the CLI's table fields
        return value == "true"
    raise MalformedAnswer(f"{what} is not true or false")


def _labels(value: Any, what: str) -> dict[str, str]:
    labels = _object(value, what)
    if len(labels) > MAX_ITEMS:
        raise MalformedAnswer(f"{what} has more than {MAX_ITEMS} labels")
    return {_text(key, f"{what} key"): _text(item, f"{what} value") for key, item in labels.items()}


def _cli_labels(value: Any, what: str) -> dict[str, str]:
    """The CLI's ``Labels`` column: ``k=v,k2=v2`` (a value holding a comma is cut there)."""
    text = _text(value, what)
    pairs = (part.partition("=") for part in text.split(",") if part)
    return {key: item for key, _, item in pairs}


def _network_id(value: Any, what: str) -> str:
    text = _text(value, what)
    if not NETWORK_ID.match(text):
        raise MalformedAnswer(f"{what} is not a network ID")
    return text


def _address(value: Any, what: str, network: bool = False) -> str:
    text = _text(value, what)
    if not text:
        return ""
    try:
        parsed = ipaddress.ip_network(text, strict=False) if network else ipaddress.ip_address(text)
    except ValueError as error:
        raise MalformedAnswer(
            f"{what} is not an IP {'network' if network else 'address'}"
        ) from error
    return str(parsed)


def parse_time(value: Any, what: str) -> datetime | None:
    """RFC 3339 as Docker writes it (nanoseconds, ``Z``), or the CLI's ``2026-12-01 09:37:47.6
    +0000 UTC``; None when absent or unreadable (a time is never worth failing a poll)."""
    text = _text(value, what)
    if not text or text.startswith("0001-"):
        return None
    text = text.replace(" +0000 UTC", "Z").replace(" ", "T", 1)
    head, _, rest = text.partition(".")
    fraction = "".join(char for char in rest if char.isdigit())
    head = head.rstrip("Z")
    try:
        moment = datetime.fromisoformat(head[:19])
    except ValueError:
        return None
    micro = int((fraction + "000000")[:6]) if fraction else 0
    return moment.replace(microsecond=micro, tzinfo=UTC)


def _each(
    items: list[dict[str, Any]], parse: Callable[[dict[str, Any], str], T], what: str
) -> list[T]:
    return [parse(item, f"{what} item {index}") for index, item in enumerate(items)]


def network_from_api(item: dict[str, Any], what: str = "network") -> NetworkInfo:
    """One network of ``GET /networks`` or ``docker network inspect``: complete."""
    ipam = _object(item.get("IPAM"), f"{what} IPAM")
    subnets, gateways = [], []
    configs = ipam.get("Config")
    configs = list_of_objects([] if configs is None else configs, f"{what} IPAM.Config")
    for index, config in enumerate(configs):
        subnet = _address(config.get("Subnet"), f"{what} subnet {index}", network=True)
        gateway = _address(config.get("Gateway"), f"{what} gateway {index}")
        if subnet:
            subnets.append(subnet)
        if gateway:
            gateways.append(gateway)
    return NetworkInfo(
        id=_network_id(item.get("Id"), f"{what} Id"),
        name=_required_name(item.get("Name"), what),
        driver=_text(item.get("Driver"), f"{what} Driver", MAX_DRIVER),
        scope=_text(item.get("Scope"), f"{what} Scope", MAX_SCOPE),
        internal=_flag(item.get("Internal"), f"{what} Internal"),
        attachable=_flag(item.get("Attachable"), f"{what} Attachable"),
        ingress=_flag(item.get("Ingress"), f"{what} Ingress"),
        ipv6=_flag(item.get("EnableIPv6"), f"{what} EnableIPv6"),
        subnets=tuple(subnets),
        gateways=tuple(gateways),
        labels=_labels(item.get("Labels"), f"{what} Labels"),
        created=parse_time(item.get("Created"), f"{what} Created"),
    )


def _required_name(value: Any, what: str) -> str:
    name = _text(value, f"{what} Name", MAX_NAME)
    if not name:
        raise MalformedAnswer(f"{what} has no name")
    return name


def networks_from_api(payload: Any) -> list[NetworkInfo]:
    """``GET /networks``: a list of network objects."""
    return _each(list_of_objects(payload, "the network listing"), network_from_api, "network")


def network_from_cli_line(item: dict[str, Any], what: str = "network") -> NetworkInfo:
    """One line of ``docker network ls --format '{{json .}}'``: no address plan (incomplete)."""
    return NetworkInfo(
        id=_network_id(item.get("ID"), f"{what} ID"),
        name=_required_name(item.get("Name"), what),
        driver=_text(item.get("Driver"), f"{what} Driver", MAX_DRIVER),
        scope=_text(item.get("Scope"), f"{what} Scope", MAX_SCOPE),
        internal=_flag(item.get("Internal"), f"{what} Internal"),
        ipv6=_flag(item.get("IPv6"), f"{what} IPv6"),
        labels=_cli_labels(item.get("Labels"), f"{what} Labels"),
        created=parse_time(item.get("CreatedAt"), f"{what} CreatedAt"),
        complete=False,
    )


def networks_from_cli_lines(items: Any) -> list[NetworkInfo]:
    return _each(list_of_objects(items, "the network listing"), network_from_cli_line, "network")


def networks_from_inspect(payload: Any) -> list[NetworkInfo]:
    """``docker network inspect <id>...``: a list of network objects, complete."""
    return _each(list_of_objects(payload, "the network inspect"), network_from_api, "network")


def _volume_name(value: Any, what: str) -> str:
    name = _text(value, f"{what} Name", MAX_NAME)
    if not VOLUME_NAME.match(name):
        raise MalformedAnswer(f"{what} Name is not a volume name")
    return name


def volume_from_api(item: dict[str, Any], what: str = "volume") -> VolumeInfo:
    return VolumeInfo(
        name=_volume_name(item.get("Name"), what),
        driver=_text(item.get("Driver"), f"{what} Driver", MAX_DRIVER),
        scope=_text(item.get("Scope"), f"{what} Scope", MAX_SCOPE) or "local",
        labels=_labels(item.get("Labels"), f"{what} Labels"),
        created=parse_time(item.get("CreatedAt"), f"{what} CreatedAt"),
    )


def volumes_from_api(payload: Any) -> list[VolumeInfo]:
    """``GET /volumes``: ``{"Volumes": [...], "Warnings": [...]}``."""
    if not isinstance(payload, dict):
        raise MalformedAnswer("the volume listing is not an object")
    items = payload.get("Volumes")
    items = list_of_objects([] if items is None else items, "the volume listing's Volumes")
    return _each(items, volume_from_api, "volume")


def volume_from_cli_line(item: dict[str, Any], what: str = "volume") -> VolumeInfo:
    """One line of ``docker volume ls --format '{{json .}}'``."""
    return VolumeInfo(
        name=_volume_name(item.get("Name"), what),
        driver=_text(item.get("Driver"), f"{what} Driver", MAX_DRIVER),
        scope=_text(item.get("Scope"), f"{what} Scope", MAX_SCOPE) or "local",
        labels=_cli_labels(item.get("Labels"), f"{what} Labels"),
    )


def volumes_from_cli_lines(items: Any) -> list[VolumeInfo]:
    return _each(list_of_objects(items, "the volume listing"), volume_from_cli_line, "volume")


def attachments(networks: Any, container_id: str, with_aliases: bool) -> tuple[Attachment, ...]:
    """A container's ``NetworkSettings.Networks`` (name to endpoint). Aliases come only from an
    inspect (``with_aliases``); the one Docker adds itself, the short container ID, is left out."""
    what = f"container {container_id[:12]} networks"
    found = []
    for name, endpoint in sorted(_object(networks, what).items()):
        where = f"{what} {str(name)[:40]!r}"
        endpoint = _object(endpoint, where)
        aliases = None
        if with_aliases:
            given = [
                _text(alias, f"{where} alias") for alias in _list(endpoint.get("Aliases"), where)
            ]
            aliases = tuple(sorted({a for a in given if a and not container_id.startswith(a)}))
        network_id = _text(endpoint.get("NetworkID"), f"{where} NetworkID")
        if network_id and not NETWORK_ID.match(network_id):
            raise MalformedAnswer(f"{where} NetworkID is not a network ID")
        found.append(
            Attachment(
                network_id=network_id,
                network_name=_text(name, f"{what} name", MAX_NAME),
                ipv4=_address(endpoint.get("IPAddress"), f"{where} IPAddress"),
                ipv6=_address(endpoint.get("GlobalIPv6Address"), f"{where} GlobalIPv6Address"),
                aliases=aliases,
            )
        )
    return tuple(found)


def network_mode(host_config: Any, container_id: str) -> str:
    """``HostConfig.NetworkMode``: ``default``, ``bridge``, ``host``, ``none``,
    ``container:<id>`` or a network's name."""
    config = _object(host_config, f"container {container_id[:12]} HostConfig")
    return _text(config.get("NetworkMode"), f"container {container_id[:12]} NetworkMode", 300)


def shared_netns_target(mode: str) -> str:
    """The container whose network stack ``mode`` shares (``container:<id or name>``), or ''."""
    return mode.removeprefix("container:") if mode.startswith("container:") else ""
