"""Plain data read from Docker engines: what the rest of the project works with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Route:
    """How the project reaches a daemon's API.

    ``url`` is ``unix://``, ``tcp://`` or ``ssh://`` for a daemon reached directly, or
    ``exec://<container id>`` for a nested daemon read with the docker CLI inside its container,
    in which case ``via`` is the route to the daemon that runs that container.
    """

    url: str
    via: Route | None = None
    tls_ca_cert: str = ""
    tls_client_cert: str = ""
    tls_client_key: str = field(default="", repr=False)
    ssh_private_key: str = field(default="", repr=False)
    ssh_known_hosts: str = ""
    insecure: bool = False

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]

    @property
    def is_exec(self) -> bool:
        return self.scheme == "exec"

    @property
    def socket_path(self) -> str | None:
        return self.url.removeprefix("unix://") if self.scheme == "unix" else None

    @property
    def key(self) -> str:
        """A stable text for locks and logs."""
        return self.url if self.via is None else f"{self.via.key} > {self.url}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def without_secrets(self) -> Route:
        """This route with no private keys (certificates and host keys are public)."""
        via = self.via.without_secrets() if self.via else None
        return replace(self, via=via, tls_client_key="", ssh_private_key="")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        via = data.get("via")
        return cls(**{**data, "via": cls.from_dict(via) if via else None})


@dataclass(frozen=True)
class EngineInfo:
    """Who a daemon is. ``engine`` says what implements it (``docker``, ``podman``,
    ``unknown``), ``identity`` where ``engine_id`` came from (see ``engine.identity``)."""

    engine_id: str
    name: str
    version: str
    api_version: str
    operating_system: str
    engine: str = "docker"
    identity: str = "engine-id"


@dataclass(frozen=True)
class Mount:
    """One mount of a container; ``name`` and ``driver`` are a named volume's (else empty)."""

    type: str
    source: str
    destination: str
    read_write: bool
    name: str = ""
    driver: str = ""


@dataclass(frozen=True)
class Port:
    ip: str
    private_port: int
    public_port: int | None
    protocol: str


@dataclass(frozen=True)
class HealthProbe:
    """One run of a container's healthcheck, as the engine kept it (output cut short)."""

    start: datetime | None
    end: datetime | None
    exit_code: int
    output: str


@dataclass(frozen=True)
class Health:
    """A container's healthcheck state: ``status`` is ``healthy``, ``unhealthy``, ``starting``
    or ``none`` (no healthcheck); ``probes`` are the last few runs, oldest first."""

    status: str = "none"
    failing_streak: int = 0
    probes: tuple[HealthProbe, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A container's endpoint on one network. ``aliases`` is None where the engine did not say
    (a container listing never does; an inspect does)."""

    network_id: str
    network_name: str
    ipv4: str = ""
    ipv6: str = ""
    aliases: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NetworkInfo:
    """One network of a daemon. ``complete`` is False for a CLI listing line, which lacks the
    address plan: such a network is inspected when it is new or changed."""

    id: str
    name: str
    driver: str
    scope: str
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    ipv6: bool = False
    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None
    complete: bool = True


@dataclass(frozen=True)
class VolumeInfo:
    """One named volume of a daemon (who uses it comes from the containers' mounts)."""

    name: str
    driver: str
    scope: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None


@dataclass(frozen=True)
class ImageInfo:
    """One image of a daemon's cache. ``tags`` are ``repo:tag`` references, ``digests``
    ``repo@sha256:...`` (known once pulled or pushed); ``size`` in bytes."""

    id: str
    tags: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    size: int = 0
    created: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientAddress:
    """The TCP daemon a container's ``DOCKER_HOST`` names. Read from its environment, it stays
    in memory on the server for one poll (shown as hidden); only what it resolves to is kept."""

    host: str
    port: int

    def __repr__(self) -> str:
        return "ClientAddress(hidden)"


@dataclass(frozen=True)
class ContainerInfo:
    """One container as listed (and, where needed, inspected). Never its environment."""

    id: str
    name: str
    image: str
    image_id: str
    state: str
    created: datetime | None
    labels: dict[str, str]
    mounts: tuple[Mount, ...]
    ports: tuple[Port, ...]
    networks: tuple[str, ...]
    privileged: bool | None = None
    started_at: str | None = None
    runs_dockerd: bool | None = None
    nesting_capable: bool | None = None  # from an inspect: see ``nesting.may_run_dockerd``
    health: str = "none"
    health_detail: Health | None = None  # from an inspect; a listing says only ``health``
    attachments: tuple[Attachment, ...] = ()
    network_mode: str = ""
    client_address: ClientAddress | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DaemonSnapshot:
    """What one poll read of a daemon. ``networks``, ``volumes`` and ``images`` are None when
    they were not read (their discovery is switched off): what is stored of them is then left as
    it is."""

    route: Route
    info: EngineInfo
    containers: tuple[ContainerInfo, ...]
    networks: tuple[NetworkInfo, ...] | None = None
    volumes: tuple[VolumeInfo, ...] | None = None
    images: tuple[ImageInfo, ...] | None = None
