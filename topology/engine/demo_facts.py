"""What the engines say about a running demo, read when asked: the DinD vs DooD comparison.

Two views of each demo: the host engine's (its API, as the project reaches it) and the one from
inside the demo's DinD or DooD container (its docker CLI, run with ``docker exec``: the nested
daemon for DinD, the host's daemon through the mounted socket for DooD), plus what the kernel
says of that container's privileges (``/proc/1/status``). Everything read is untrusted input:
it is parsed into the dataclasses below (ids checked, numbers typed, text clipped), and
nonsense becomes "unknown", never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import docker

from topology.engine.demos import DEMO, MANAGED, ROLE, creation_claims
from topology.engine.dind import PROFILE_COMPATIBLE, PROFILE_PRIVILEGED, capability_names

ENGINE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$")
CONTAINER_HEX = re.compile(r"^[0-9a-f]{64}$")
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
TEXT_LIMIT = 200
LINE_LIMIT = 64 * 1024
SECCOMP_MODES = {"0": "off", "1": "strict", "2": "filtering"}

#: Run with ``sh`` in a DinD or DooD container. Every value the daemon chooses is printed as
#: JSON (Go templates' ``json``), one record a line, under ``@@<section>`` markers.
INSIDE_SCRIPT = r"""
echo @@status; grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/1/status
echo @@caplast; cat /proc/sys/kernel/cap_last_cap
echo @@dev; ls -A /dev | wc -l
echo @@info; docker info --format '[{{json .ID}},{{json .ServerVersion}},{{json .Name}}]'
echo @@ps; docker ps --no-trunc --format '[{{json .ID}},{{json .Names}}]'
echo @@images; ids=$(docker image ls -q --no-trunc | sort -u)
[ -z "$ids" ] || docker image inspect $ids \
  --format '[{{json .Id}},{{json .Size}},{{json .RepoTags}}]'
"""


@dataclass(frozen=True)
class Engine:
    engine_id: str
    version: str
    name: str


@dataclass(frozen=True)
class Listed:
    """A container as a ``docker ps`` lists it."""

    container_id: str
    name: str


@dataclass(frozen=True)
class CachedImage:
    image_id: str
    tags: tuple[str, ...]
    size: int


@dataclass(frozen=True)
class Privileges:
    """What the DinD or DooD container may do, from its configuration and from the kernel."""

    privileged: bool
    profile: str
    """``privileged``, ``compatible`` (every capability added, see ``images``) or ``default``."""
    capabilities: tuple[str, ...]
    """The effective set of the container's first process, as the kernel reports it."""
    capabilities_known: int
    """How many capabilities this kernel has (``cap_last_cap`` + 1)."""
    seccomp: str
    """``off``, ``filtering``, ``strict`` or ``unknown``."""
    no_new_privileges: bool | None
    apparmor: str
    device_rules: tuple[str, ...]
    host_devices: tuple[str, ...]
    dev_entries: int | None
    engine_sockets: tuple[str, ...]
    """Host paths of Docker engine sockets mounted into it."""


@dataclass(frozen=True)
class ContainerFact:
    name: str
    role: str
    privileged: bool
    profile: str
    engine: str
    state: str


@dataclass(frozen=True)
class DemoFacts:
    """What the engines say about one demo now (the first six fields: v1 of this shape)."""

    containers: tuple[ContainerFact, ...]
    host_engine_id: str
    host_images: int
    inside_engine_id: str | None
    inside_images: int | None
    ps_inside: tuple[str, ...]
    kind: str = ""
    """``dind`` or ``dood``: which container the inside view was read from ("" if none)."""
    host: Engine | None = None
    main: Listed | None = None
    inside: Engine | None = None
    listed_inside: tuple[Listed, ...] = ()
    children: tuple[Listed, ...] = ()
    """What the demo's container asked a daemon for: C3 and C4 in the nested daemon (DinD), the
    siblings whose creation the host's labels vouch for (DooD)."""
    children_on_host: tuple[str, ...] = ()
    """Ids of ``children`` the host's engine lists among its own containers."""
    host_cache: tuple[CachedImage, ...] = ()
    inside_cache: tuple[CachedImage, ...] = ()
    privileges: Privileges | None = None


def clipped(value: Any, limit: int = TEXT_LIMIT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _records(lines: Iterable[str]) -> list[list[Any]]:
    records = []
    for line in lines:
        if len(line) > LINE_LIMIT:
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, list):
            records.append(record)
    return records


def sections(output: str) -> dict[str, list[str]]:
    """The ``@@<name>`` sections of :data:`INSIDE_SCRIPT`'s output."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@@"):
            current = found.setdefault(line[2:].strip(), [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return found


def parse_engine(lines: list[str]) -> Engine | None:
    for record in _records(lines):
        if len(record) >= 3 and isinstance(record[0], str) and ENGINE_ID.match(record[0]):
            return Engine(record[0], clipped(record[1], 64), clipped(record[2]))
    return None


def parse_listed(lines: list[str]) -> tuple[Listed, ...]:
    listed = []
    for record in _records(lines):
        if len(record) >= 2 and isinstance(record[0], str) and CONTAINER_HEX.match(record[0]):
            listed.append(Listed(record[0], clipped(record[1]).split(",")[0]))
    return tuple(sorted(listed, key=lambda item: item.name))


def parse_images(lines: list[str]) -> tuple[CachedImage, ...]:
    found: dict[str, CachedImage] = {}
    for record in _records(lines):
        if len(record) < 3 or not isinstance(record[0], str) or not IMAGE_ID.match(record[0]):
            continue
        tags = record[2] if isinstance(record[2], list) else []
        found[record[0]] = CachedImage(
            record[0],
            tuple(clipped(tag) for tag in tags[:20] if clipped(tag)),
            _count(record[1]) or 0,
        )
    return tuple(sorted(found.values(), key=lambda image: image.tags or (image.image_id,)))


def parse_status(lines: list[str]) -> tuple[tuple[str, ...] | None, str, bool | None]:
    """Effective capabilities, seccomp mode and no_new_privs from ``/proc/1/status`` lines."""
    values = {}
    for line in lines:
        key, _, value = line.partition(":")
        values[key.strip()] = value.strip()
    capabilities = None
    if re.fullmatch(r"[0-9a-fA-F]{1,16}", values.get("CapEff", "")):
        capabilities = tuple(capability_names(int(values["CapEff"], 16)))
    seccomp = SECCOMP_MODES.get(values.get("Seccomp", ""), "unknown")
    no_new = {"0": False, "1": True}.get(values.get("NoNewPrivs", ""))
    return capabilities, seccomp, no_new


def _first_count(lines: list[str]) -> int | None:
    return int(lines[0]) if lines and lines[0].isdigit() else None


def _profile(attrs: dict[str, Any]) -> str:
    host_config = attrs.get("HostConfig") or {}
    if host_config.get("Privileged"):
        return "privileged"
    if "ALL" in (host_config.get("CapAdd") or []):
        return "all capabilities but " + ", ".join(host_config.get("CapDrop") or [])
    return "default"


def _engine_sockets(attrs: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        clipped(mount.get("Source"))
        for mount in attrs.get("Mounts") or []
        if isinstance(mount, dict) and str(mount.get("Destination", "")).endswith("docker.sock")
    )


def privileges(attrs: dict[str, Any], inside: dict[str, list[str]]) -> Privileges:
    host_config = attrs.get("HostConfig") or {}
    capabilities, seccomp, no_new = parse_status(inside.get("status", []))
    last = _first_count(inside.get("caplast", []))
    profile = "default"
    if host_config.get("Privileged"):
        profile = PROFILE_PRIVILEGED
    elif "ALL" in (host_config.get("CapAdd") or []):
        profile = PROFILE_COMPATIBLE
    return Privileges(
        privileged=bool(host_config.get("Privileged")),
        profile=profile,
        capabilities=capabilities or (),
        capabilities_known=(last + 1) if last is not None else len(capability_names(~0)),
        seccomp=seccomp,
        no_new_privileges=no_new,
        apparmor=clipped(attrs.get("AppArmorProfile")) or "none",
        device_rules=tuple(clipped(rule) for rule in host_config.get("DeviceCgroupRules") or []),
        host_devices=tuple(
            clipped(device.get("PathOnHost"))
            for device in host_config.get("Devices") or []
            if isinstance(device, dict)
        ),
        dev_entries=_first_count(inside.get("dev", [])),
        engine_sockets=_engine_sockets(attrs),
    )


def _run_inside(container: Any, script: str) -> str:
    result = container.exec_run(["sh", "-c", script])
    return result.output.decode(errors="replace") if result.output else ""


def _host_cache(client: docker.DockerClient) -> tuple[CachedImage, ...]:
    lines = [
        json.dumps([image.attrs.get("Id"), image.attrs.get("Size"), image.attrs.get("RepoTags")])
        for image in client.images.list()
    ]
    return parse_images(lines)


def _children(main: Any, ours: list[Any], listed: tuple[Listed, ...]) -> tuple[Listed, ...]:
    """What the demo's container asked for: all its nested daemon runs (DinD), or the siblings
    whose ``created-by`` label resolves to it (DooD, see ``creation_claims``)."""
    if main is None:
        return ()
    if main.labels.get(ROLE) == "dind":
        return listed
    claims = creation_claims(ours)
    made = [
        Listed(c.id, c.name) for c in ours if c.id in claims and claims[c.id].creator == main.id
    ]
    return tuple(sorted(made, key=lambda item: item.name))


def _container_fact(container: Any) -> ContainerFact:
    return ContainerFact(
        container.name,
        container.labels.get(ROLE, ""),
        bool(container.attrs["HostConfig"].get("Privileged")),
        _profile(container.attrs),
        "host",
        container.status,
    )


def demo_facts(client: docker.DockerClient, demo_id: str) -> DemoFacts:
    """Read a demo's two views now: the host engine's and the one from inside its container."""
    info = client.info()
    host = Engine(
        clipped(info.get("ID")), clipped(info.get("ServerVersion"), 64), clipped(info.get("Name"))
    )
    ours = client.containers.list(
        all=True, filters={"label": [f"{MANAGED}=true", f"{DEMO}={demo_id}"]}
    )
    main = next((c for c in ours if c.labels.get(ROLE) in {"dind", "dood"}), None)
    inside_view: dict[str, list[str]] = {}
    if main is not None and main.status == "running":
        inside_view = sections(_run_inside(main, INSIDE_SCRIPT))
    inside = parse_engine(inside_view.get("info", []))
    listed = parse_listed(inside_view.get("ps", []))
    inside_cache = parse_images(inside_view.get("images", []))
    host_cache = _host_cache(client)
    children = _children(main, ours, listed)
    kind = main.labels.get(ROLE, "") if main is not None else ""
    facts = [_container_fact(c) for c in ours]
    if kind == "dind":
        facts += [
            ContainerFact(c.name, "workload", False, "default", "nested", "running") for c in listed
        ]
    on_host = {entry.get("Id") for entry in client.api.containers(all=True, quiet=True)}
    return DemoFacts(
        containers=tuple(facts),
        host_engine_id=host.engine_id,
        host_images=len(host_cache),
        inside_engine_id=inside.engine_id if inside else None,
        inside_images=len(inside_cache) if inside else None,
        ps_inside=tuple(sorted(item.name for item in listed)),
        kind=kind,
        host=host,
        main=Listed(main.id, main.name) if main is not None else None,
        inside=inside,
        listed_inside=listed,
        children=children,
        children_on_host=tuple(c.container_id for c in children if c.container_id in on_host),
        host_cache=host_cache,
        inside_cache=inside_cache,
        privileges=privileges(main.attrs, inside_view) if main is not None else None,
    )
