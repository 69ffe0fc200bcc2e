"""Reading a daemon: its identity and its containers, through the API or through docker exec."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors

from topology.engine import identity
from topology.engine.clients import client_address
from topology.engine.connection import (
    EngineAddress,
    EngineError,
    SSHMaterial,
    TLSMaterial,
    as_engine_error,
    forget_version,
    open_client,
    version_answer,
)
from topology.engine.errors import MalformedAnswer
from topology.engine.health import health_from_state, health_from_status_text
from topology.engine.image_listing import images_from_api, images_from_inspect
from topology.engine.nesting import may_run_dockerd
from topology.engine.networks import (
    MAX_NAME,
    attachments,
    labels_field,
    list_of_objects,
    network_mode,
    networks_from_api,
    networks_from_cli_lines,
    networks_from_inspect,
    object_field,
    text_field,
    volumes_from_api,
    volumes_from_cli_lines,
)
from topology.engine.types import (
    ContainerInfo,
    EngineInfo,
    ImageInfo,
    Mount,
    NetworkInfo,
    Port,
    Route,
    VolumeInfo,
)

DOCKER_STATES = {"running", "exited", "paused", "created", "restarting", "dead", "removing"}
ENGINE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$")
CONTAINER_ID = re.compile(r"^[0-9A-Za-z]{1,128}$")


class EngineReader(Protocol):
    route: Route

    def info(self) -> EngineInfo: ...
    def list_containers(self) -> list[ContainerInfo]: ...
    def inspect(self, container_id: str) -> ContainerInfo | None: ...
    def list_networks(self) -> list[NetworkInfo]: ...
    def inspect_networks(self, network_ids: list[str]) -> list[NetworkInfo]: ...
    def list_volumes(self) -> list[VolumeInfo]: ...
    def list_images(self) -> list[ImageInfo]: ...
    def exec_in(self, container_id: str, command: list[str]) -> str: ...
    def close(self) -> None: ...


def engine_address(
    route: Route,
    connect_timeout: float = 2.0,
    read_timeout: float = 10.0,
    tls_dir: Path | None = None,
    pool_size: int = 10,
) -> EngineAddress:
    """Where and how to reach a directly reachable daemon (not an exec route)."""
    address = EngineAddress(
        url=route.url,
        tls=(
            TLSMaterial(route.tls_ca_cert, route.tls_client_cert, route.tls_client_key)
            if route.tls_client_cert
            else None
        ),
        ssh=(
            SSHMaterial(route.ssh_private_key, route.ssh_known_hosts)
            if route.scheme == "ssh"
            else None
        ),
        insecure=route.insecure,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        pool_size=pool_size,
    )
    return replace(address, tls_dir=tls_dir) if tls_dir is not None else address


def open_reader(
    route: Route,
    connect_timeout: float = 2.0,
    read_timeout: float = 10.0,
    tls_dir: Path | None = None,
    pool_size: int = 10,
) -> Any:
    """A reader for ``route``; exec routes are read through the reader of their ``via``.

    ``tls_dir`` is a private folder where TLS material is written for the SSL library;
    ``pool_size`` is how many calls the reader may make at once without opening a connection
    for each (the stats sampler makes many).
    """
    if route.is_exec:
        if route.via is None:
            raise EngineError(f"{route.url}: an exec route needs the route of its daemon")
        parent = open_reader(route.via, connect_timeout, read_timeout, tls_dir)
        return ExecReader(route, parent)
    address = engine_address(route, connect_timeout, read_timeout, tls_dir, pool_size)
    return ApiReader(route, open_client(address))


def engine_info(
    route_key: str,
    info_answer: Any,
    api_version: str,
    version_answer: Any = None,
    libpod_info: Any = None,
) -> EngineInfo:
    """The typed identity of a daemon from its answers (``/info``, ``/version``, Podman's
    ``/libpod/info``), shapes checked: a field of the wrong type is ``MalformedAnswer``; an
    engine that gives no usable ID is identified as ``engine.identity`` says."""
    if not isinstance(info_answer, dict):
        raise MalformedAnswer("the daemon's /info is not an object")
    said_id = text_field(info_answer.get("ID"), "the daemon's engine ID", 128)
    who = identity.identify(route_key, info_answer, version_answer, libpod_info)
    if who.source == identity.FROM_ROUTE and who.engine == identity.DOCKER and said_id:
        raise MalformedAnswer("the daemon's engine ID is not an engine ID")
    return EngineInfo(
        engine_id=who.engine_id,
        name=text_field(info_answer.get("Name"), "the daemon's name", MAX_NAME),
        version=identity.engine_version(who.engine, version_answer, info_answer),
        api_version=text_field(api_version, "the daemon's API version", 16),
        operating_system=text_field(
            info_answer.get("OperatingSystem"), "the daemon's system", MAX_NAME
        ),
        engine=who.engine,
        identity=who.source,
    )


def _container_id(value: Any) -> str:
    text = text_field(value, "a container's Id", 128)
    if not CONTAINER_ID.match(text):
        raise MalformedAnswer("a container's Id is not a container ID")
    return text


def _port_number(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 65535:
        raise MalformedAnswer(f"{what} is not a port number")
    return number


def engine_time(text: str | None) -> datetime | None:
    """A time as the engine writes it (RFC 3339, nanoseconds, Z), in UTC; Docker's zero time
    and anything unreadable are None."""
    if not text or text.startswith("0001-"):
        return None
    text = text.rstrip("Z")
    head, _, fraction = text.partition(".")
    try:
        moment = datetime.fromisoformat(head)
    except ValueError:
        return None
    micro = int((fraction + "000000")[:6]) if fraction.isdigit() else 0
    return moment.replace(microsecond=micro, tzinfo=UTC)


def _whole_seconds(moment: datetime | None) -> datetime | None:
    return moment.replace(microsecond=0) if moment else None


def _state(value: str | None) -> str:
    value = (value or "").lower()
    return value if value in DOCKER_STATES else "dead"


def _mount(item: dict[str, Any]) -> Mount:
    kind = text_field(item.get("Type"), "a mount's type", 32)
    name = text_field(item.get("Name"), "a mount's name", MAX_NAME)
    writable = item.get("RW", True)
    if not isinstance(writable, bool):
        raise MalformedAnswer("a mount's RW is not true or false")
    return Mount(
        type=kind,
        source=text_field(item.get("Source"), "a mount's source") or name,
        destination=text_field(item.get("Destination"), "a mount's destination"),
        read_write=writable,
        name=name if kind == "volume" else "",
        driver=text_field(item.get("Driver"), "a mount's driver", 64) if kind == "volume" else "",
    )


def _mounts(items: Iterable[dict[str, Any]] | None) -> tuple[Mount, ...]:
    mounts = (_mount(item) for item in items or ())
    return tuple(sorted(mounts, key=lambda m: (m.destination, m.source)))


def parsed_containers(items: Any, parse: Any, what: str) -> list[ContainerInfo]:
    """Each object of a container listing or inspect through ``parse``; anything that is not
    the shape the Engine API describes is a ``MalformedAnswer`` naming the item."""
    parsed = []
    for index, item in enumerate(list_of_objects(items, what)):
        try:
            parsed.append(parse(item))
        except MalformedAnswer:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MalformedAnswer(f"{what}: item {index} is malformed ({error!r:.200})") from error
    return parsed


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise MalformedAnswer(f"{what} is not JSON ({error})") from error


def _json_lines(text: str, what: str) -> list[Any]:
    return [_json(line, what) for line in text.splitlines() if line.strip()]


def container_from_listing(item: dict[str, Any]) -> ContainerInfo:
    """From ``GET /containers/json`` (cheap; no privileged flag, no start time). Shapes are
    checked (``MalformedAnswer``); ``parsed_containers`` names the item that failed."""
    item = {**item, "Id": _container_id(item.get("Id"))}
    names = [text_field(name, "a container's name", MAX_NAME) for name in item.get("Names") or []]
    created = item.get("Created")
    if created is not None and (isinstance(created, bool) or not isinstance(created, int | float)):
        raise MalformedAnswer("a container's Created is not a time")
    joined = attachments(
        (item.get("NetworkSettings") or {}).get("Networks"), item["Id"], with_aliases=False
    )
    return ContainerInfo(
        id=item["Id"],
        name=(names[0] if names else item["Id"][:12]).lstrip("/"),
        image=text_field(item.get("Image"), "a container's image"),
        image_id=text_field(item.get("ImageID"), "a container's image ID"),
        state=_state(text_field(item.get("State"), "a container's state", 32)),
        created=datetime.fromtimestamp(created, UTC) if created else None,
        labels=labels_field(item.get("Labels"), "a container's labels"),
        mounts=_mounts(list_of_objects(item.get("Mounts") or [], "a container's mounts")),
        ports=tuple(
            Port(
                ip=text_field(port.get("IP"), "a port's IP", 64),
                private_port=_port_number(port.get("PrivatePort"), "a private port") or 0,
                public_port=_port_number(port.get("PublicPort"), "a public port"),
                protocol=text_field(port.get("Type"), "a port's protocol", 8) or "tcp",
            )
            for port in list_of_objects(item.get("Ports") or [], "a container's ports")
        ),
        health=health_from_status_text(item.get("Status")),
        networks=tuple(sorted(a.network_name for a in joined)),
        attachments=joined,
        network_mode=network_mode(item.get("HostConfig"), item["Id"]),
    )


def container_from_inspect(data: dict[str, Any]) -> ContainerInfo:
    """From ``GET /containers/<id>/json``, shapes checked. Of ``Config.Env`` only the daemon
    ``DOCKER_HOST`` names is read (``engine.clients``), never the rest."""
    data = {**data, "Id": _container_id(data.get("Id"))}
    state = object_field(data.get("State"), "a container's State")
    config = object_field(data.get("Config"), "a container's Config")
    host_config = object_field(data.get("HostConfig"), "a container's HostConfig")
    settings = object_field(data.get("NetworkSettings"), "a container's NetworkSettings")
    ports = []
    for spec, bindings in object_field(settings.get("Ports"), "a container's ports").items():
        number, _, protocol = spec.partition("/")
        for binding in list_of_objects(bindings or [{}], "a port's bindings"):
            ports.append(
                Port(
                    ip=text_field(binding.get("HostIp"), "a port's IP", 64),
                    private_port=_port_number(number, "a private port") or 0,
                    public_port=_port_number(binding.get("HostPort"), "a public port"),
                    protocol=text_field(protocol, "a port's protocol", 8) or "tcp",
                )
            )
    health = health_from_state(state)
    joined = attachments(settings.get("Networks"), data["Id"], with_aliases=True)
    name = text_field(data.get("Name"), "a container's name", MAX_NAME)
    return ContainerInfo(
        id=data["Id"],
        name=(name or data["Id"][:12]).lstrip("/"),
        image=text_field(config.get("Image"), "a container's image"),
        image_id=text_field(data.get("Image"), "a container's image ID"),
        state=_state(text_field(state.get("Status"), "a container's state", 32)),
        created=_whole_seconds(engine_time(text_field(data.get("Created"), "a time", 64))),
        labels=labels_field(config.get("Labels"), "a container's labels"),
        mounts=_mounts(list_of_objects(data.get("Mounts") or [], "a container's mounts")),
        ports=tuple(sorted(ports, key=lambda p: (p.private_port, p.protocol, p.ip))),
        networks=tuple(sorted(a.network_name for a in joined)),
        privileged=host_config.get("Privileged") is True,
        started_at=text_field(state.get("StartedAt"), "a time", 64) or None,
        nesting_capable=_nesting_capable(host_config),
        health=health.status,
        health_detail=health,
        attachments=joined,
        network_mode=network_mode(host_config, data["Id"]),
        client_address=client_address(config.get("Env")),
    )


def _capabilities(value: Any, what: str) -> set[str]:
    names = value if isinstance(value, list) else []
    if value is not None and not isinstance(value, list):
        raise MalformedAnswer(f"{what} is not a list")
    return {text_field(n, what, 64).upper().removeprefix("CAP_") for n in names}


def _nesting_capable(host_config: dict[str, Any]) -> bool:
    """Whether a dockerd could run in the container: privileged, CAP_SYS_ADMIN kept (dockerd
    mounts its storage and cgroups), or the Sysbox runtime (DinD without either)."""
    if host_config.get("Privileged") is True:
        return True
    runtime = text_field(host_config.get("Runtime"), "a container's runtime", 64)
    if runtime.startswith("sysbox"):
        return True
    added = _capabilities(host_config.get("CapAdd"), "a container's added capabilities")
    dropped = _capabilities(host_config.get("CapDrop"), "a container's dropped capabilities")
    return bool(added & {"ALL", "SYS_ADMIN"}) and not dropped & {"ALL", "SYS_ADMIN"}


def processes_include_dockerd(top: dict[str, Any]) -> bool:
    titles = [title.upper() for title in top.get("Titles") or []]
    column = next((titles.index(t) for t in ("CMD", "COMMAND") if t in titles), None)
    for process in top.get("Processes") or []:
        text = (
            process[column] if column is not None and column < len(process) else " ".join(process)
        )
        words = text.split()
        if words and words[0].rsplit("/", 1)[-1] == "dockerd":
            return True
    return False


class ApiReader:
    """Reads a daemon through its API (unix socket, TCP with TLS, or ssh)."""

    def __init__(self, route: Route, client: docker.DockerClient) -> None:
        self.route = route
        self.client = client

    def _call(self, what: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return what(*args, **kwargs)
        except docker.errors.NotFound:
            raise
        except Exception as error:
            forget_version(self.route.url)
            raise as_engine_error(self.route.url, error) from error

    def info(self) -> EngineInfo:
        """``/info``; for Podman also ``/libpod/info``, whose store facts identify it."""
        answer = self._call(self.client.api.info)
        versions = version_answer(self.route.url)
        libpod = None
        if identity.engine_kind(versions, answer) == identity.PODMAN:
            libpod = self.libpod_info()
        return engine_info(self.route.key, answer, self.client.api.api_version, versions, libpod)

    def libpod_info(self) -> Any:
        """Podman's own ``GET /libpod/info``; None when the engine refuses it for good (a 4xx:
        then the route identifies it). No answer raises, so an identity never flips."""
        api = self.client.api
        try:
            return api._result(api._get(api._url("/libpod/info")), json=True)
        except docker.errors.APIError as error:
            if error.is_client_error():
                return None
            forget_version(self.route.url)
            raise as_engine_error(self.route.url, error) from error
        except Exception as error:
            forget_version(self.route.url)
            raise as_engine_error(self.route.url, error) from error

    def list_containers(self) -> list[ContainerInfo]:
        items = self._call(self.client.api.containers, all=True)
        return parsed_containers(items, container_from_listing, "the container listing")

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            data = self._call(self.client.api.inspect_container, container_id)
        except docker.errors.NotFound:
            return None
        info = parsed_containers([data], container_from_inspect, "the container inspect")[0]
        if may_run_dockerd(info):
            info = replace(info, runs_dockerd=self.runs_dockerd(container_id))
        elif info.state == "running":
            info = replace(info, runs_dockerd=False)
        return info

    def runs_dockerd(self, container_id: str) -> bool | None:
        try:
            return processes_include_dockerd(self._call(self.client.api.top, container_id))
        except (docker.errors.NotFound, docker.errors.APIError, EngineError):
            return None

    def list_networks(self) -> list[NetworkInfo]:
        """``GET /networks``: one call, every network complete (the address plan included)."""
        return networks_from_api(self._call(self.client.api.networks))

    def inspect_networks(self, network_ids: list[str]) -> list[NetworkInfo]:
        found = []
        for network_id in network_ids:
            try:
                found.append(self._call(self.client.api.inspect_network, network_id))
            except docker.errors.NotFound:
                continue
        return networks_from_inspect(found)

    def list_volumes(self) -> list[VolumeInfo]:
        return volumes_from_api(self._call(self.client.api.volumes))

    def list_images(self) -> list[ImageInfo]:
        """``GET /images/json``: the daemon's image cache in one call (no intermediate layers)."""
        try:
            return images_from_api(self._call(self.client.api.images))
        except docker.errors.NotFound as error:
            raise MalformedAnswer("the daemon has no image listing (GET /images/json)") from error

    def exec_in(self, container_id: str, command: list[str]) -> str:
        try:
            result = self._call(
                self.client.api.exec_create, container_id, command, stdout=True, stderr=True
            )
            output = self._call(self.client.api.exec_start, result["Id"], demux=True)
            exit_code = self._call(self.client.api.exec_inspect, result["Id"])["ExitCode"]
        except docker.errors.NotFound as error:
            raise EngineError(f"container {container_id[:12]} is gone") from error
        stdout, stderr = output if isinstance(output, tuple) else (output, b"")
        if exit_code != 0:
            message = (stderr or stdout or b"").decode(errors="replace").strip()
            raise EngineError(f"exec in {container_id[:12]} failed: {message[:300]}")
        return (stdout or b"").decode(errors="replace")

    def close(self) -> None:
        self.client.close()


MARK = "----topology----"


class ExecReader:
    """Reads a nested daemon whose API is not exposed, with the docker CLI inside its container.

    Every read is one ``docker exec`` running read-only CLI commands (``info``, ``ps``,
    ``inspect``, ``top``); a daemon nested deeper is read by exec through this one.
    """

    def __init__(self, route: Route, parent: Any) -> None:
        self.route = route
        self.parent = parent
        self.container_id = route.url.removeprefix("exec://")
        self._api_version = ""

    def _run(self, script: str) -> str:
        return self.parent.exec_in(self.container_id, ["sh", "-c", script])

    def info(self) -> EngineInfo:
        output = self._run(
            "docker info --format '{{json .}}' && echo " + MARK + " && "
            "docker version --format '{{.Server.APIVersion}}'"
        )
        info_text, _, version = output.partition(MARK)
        self._api_version = version.strip()
        data = _json(info_text, "docker info")
        if not isinstance(data, dict):
            raise MalformedAnswer("docker info is not an object")
        return engine_info(self.route.key, data, self._api_version)

    def list_containers(self) -> list[ContainerInfo]:
        output = self._run(
            "ids=$(docker ps -aq --no-trunc); "
            'if [ -n "$ids" ]; then docker inspect $ids; else echo "[]"; fi'
        )
        items = _json(output or "[]", "the container listing")
        return parsed_containers(items, container_from_inspect, "the container listing")

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            output = self._run(f"docker inspect {shlex.quote(container_id)}")
        except EngineError:
            return None
        items = _json(output or "[]", "the container inspect")
        if not items:
            return None
        info = parsed_containers(items[:1], container_from_inspect, "the container inspect")[0]
        if may_run_dockerd(info):
            info = replace(info, runs_dockerd=self.runs_dockerd(container_id))
        elif info.state == "running":
            info = replace(info, runs_dockerd=False)
        return info

    def runs_dockerd(self, container_id: str) -> bool | None:
        try:
            output = self._run(f"docker top {shlex.quote(container_id)}")
        except EngineError:
            return None
        lines = output.splitlines()
        if not lines:
            return False
        header = lines[0].split()
        column = header.index("CMD") if "CMD" in header else len(header) - 1
        rows = [line.split(None, column) for line in lines[1:]]
        return processes_include_dockerd(
            {"Titles": header, "Processes": [row for row in rows if len(row) > column]}
        )

    def list_networks(self) -> list[NetworkInfo]:
        """``docker network ls``: one exec, no address plans (``inspect_networks`` gives them)."""
        output = self._run("docker network ls --no-trunc --format '{{json .}}'")
        return networks_from_cli_lines(_json_lines(output, "the network listing"))

    def inspect_networks(self, network_ids: list[str]) -> list[NetworkInfo]:
        """``docker network inspect`` of these networks, in one exec."""
        if not network_ids:
            return []
        quoted = " ".join(shlex.quote(network_id) for network_id in network_ids)
        output = self._run(f"docker network inspect {quoted} 2>/dev/null || true")
        return networks_from_inspect(_json(output.strip() or "[]", "the network inspect"))

    def list_volumes(self) -> list[VolumeInfo]:
        output = self._run("docker volume ls --format '{{json .}}'")
        return volumes_from_cli_lines(_json_lines(output, "the volume listing"))

    def list_images(self) -> list[ImageInfo]:
        """``docker image inspect`` of every image, in one exec (a listing line of the CLI has
        sizes only as text, ``3.5MB``, and one tag). An image deleted between the two commands
        is left out, not an error."""
        output = self._run(
            "ids=$(docker image ls -q --no-trunc); "
            'if [ -n "$ids" ]; then docker image inspect $ids 2>/dev/null || true; '
            'else echo "[]"; fi'
        )
        return images_from_inspect(_json(output.strip() or "[]", "the image inspect"))

    def exec_in(self, container_id: str, command: list[str]) -> str:
        inner = " ".join(shlex.quote(word) for word in command)
        return self._run(f"docker exec {shlex.quote(container_id)} {inner}")

    def close(self) -> None:
        self.parent.close()
