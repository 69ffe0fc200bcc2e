"""Hosts, the Docker daemons on them (nested ones included) and the containers they run."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from topology.engine.connection import TLSMaterial, tls_material_problems
from topology.engine.errors import EngineError
from topology.engine.health import HEALTH_STATES
from topology.engine.ssh import load_private_key, parse_known_hosts
from topology.engine.types import Route
from topology.teams.models import Membership


class Status(models.TextChoices):
    UP = "up", "up"
    UNREACHABLE = "unreachable", "unreachable"
    STALE = "stale", "stale"


class HostQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> HostQuerySet:
        """The hosts of ``user``'s teams and those of no team (shared); all of them for site
        admins, none for anonymous users. What is nested under a host goes with it."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        teams = Membership.objects.filter(user=user).values("team")
        return self.filter(Q(team__isnull=True) | Q(team__in=teams))


class Host(models.Model):
    """A machine that runs at least one root (non-nested) Docker daemon.

    The project decides which host a root daemon is on, never the engine: a registered engine's
    host is its registration's (``Endpoint.host``, made at its first poll and named after the
    registration), the local engine's is the one founded by its engine ID (``engine_id``). The
    name an engine reports is shown as a daemon's name only.
    """

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    engine_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="The engine ID of the unregistered root engine this host was made for (the "
        "local engine); empty for a registration's host.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UP)
    last_seen = models.DateTimeField(null=True, blank=True)
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosts",
        help_text="Who sees this host and what runs on it; no team: every user.",
    )

    objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["engine_id"], condition=~Q(engine_id=""), name="one_host_per_root_engine"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Endpoint(models.Model):
    """A root engine registered by hand: where it is and how to authenticate to it."""

    ENDPOINT_SCHEMES = ("unix", "tcp", "ssh")

    name = models.CharField(max_length=100, unique=True)
    url = models.CharField(
        max_length=500,
        unique=True,
        help_text="unix:///path/docker.sock, tcp://host:2376 (with TLS) or ssh://user@host",
    )
    host = models.ForeignKey(Host, null=True, blank=True, on_delete=models.SET_NULL)
    tls_ca_cert = models.TextField(blank=True, help_text="PEM; required for tcp:// unless insecure")
    tls_client_cert = models.TextField(blank=True, help_text="PEM client certificate")
    tls_client_key = models.TextField(blank=True, help_text="PEM client key; never shown again")
    ssh_private_key = models.TextField(
        blank=True, help_text="For ssh://: the private key to log in with; never shown again"
    )
    ssh_known_hosts = models.TextField(
        blank=True,
        help_text="For ssh://: the host's public key lines, as `ssh-keyscan -p PORT HOST` prints",
    )
    insecure = models.BooleanField(
        default=False, help_text="Allow plain tcp:// with no TLS (anyone on the path is root)."
    )
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="endpoints"
    )
    engine_id = models.CharField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="The engine ID it answered with when registered: one engine, one registration.",
    )
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engine_id"], condition=~Q(engine_id=""), name="one_registration_per_engine"
            )
        ]

    def __str__(self) -> str:
        return self.name

    #: Schemes a team admin may register; a local socket (unix://) is the machine's own, and
    #: only a site admin may hand one to a team.
    TEAM_ADMIN_SCHEMES = ("tcp", "ssh")

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_client_cert and self.tls_client_key)

    def clean(self) -> None:
        scheme = urlsplit(self.url).scheme
        if scheme not in self.ENDPOINT_SCHEMES:
            raise ValidationError({"url": "Use unix://, tcp:// or ssh://."})
        if bool(self.tls_client_cert) != bool(self.tls_client_key):
            raise ValidationError({"tls_client_key": "A client certificate needs its key."})
        if scheme == "tcp" and not self.uses_tls and not self.insecure:
            raise ValidationError(
                {
                    "url": "Plain tcp:// is refused: give TLS client certificates "
                    "or mark it insecure."
                }
            )
        if scheme != "tcp" and (self.tls_client_cert or self.tls_ca_cert):
            raise ValidationError({"url": "TLS certificates only apply to tcp:// endpoints."})
        if self.uses_tls:
            self._clean_tls()
        if scheme != "ssh" and (self.ssh_private_key or self.ssh_known_hosts):
            raise ValidationError(
                {"url": "An ssh key and host keys only apply to ssh:// endpoints."}
            )
        if scheme == "ssh":
            self._clean_ssh()

    def _clean_tls(self) -> None:
        material = TLSMaterial(self.tls_ca_cert, self.tls_client_cert, self.tls_client_key)
        problems = tls_material_problems(material)
        if problems:
            raise ValidationError({f"tls_{part}": text for part, text in problems.items()})

    def _clean_ssh(self) -> None:
        parts = urlsplit(self.url)
        if not parts.hostname or not parts.username or parts.path not in ("", "/"):
            raise ValidationError(
                {"url": "Write ssh:// engines as ssh://user@host or ssh://user@host:port."}
            )
        errors = {}
        for name, check in [
            ("ssh_private_key", load_private_key),
            ("ssh_known_hosts", parse_known_hosts),
        ]:
            try:
                check(getattr(self, name))
            except EngineError as error:
                text = str(error)
                errors[name] = f"{text[:1].upper()}{text[1:]}."
        if errors:
            raise ValidationError(errors)

    @property
    def route(self) -> Route:
        """How the poller reaches this engine."""
        return Route(
            url=self.url,
            tls_ca_cert=self.tls_ca_cert,
            tls_client_cert=self.tls_client_cert,
            tls_client_key=self.tls_client_key,
            ssh_private_key=self.ssh_private_key,
            ssh_known_hosts=self.ssh_known_hosts,
            insecure=self.insecure,
        )


class DaemonQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> DaemonQuerySet:
        """The daemons on hosts ``user`` may see and, level by level, those nested in their
        containers."""
        if user.is_authenticated and user.is_superuser:
            return self
        every = self.model.objects
        ids = set(every.filter(host__in=Host.objects.visible_to(user)).values_list("pk", flat=True))
        frontier = set(ids)
        while frontier:
            nested = every.filter(container__daemon_id__in=frontier).values_list("pk", flat=True)
            frontier = set(nested) - ids
            ids |= frontier
        return self.filter(pk__in=ids)


class Daemon(models.Model):
    """A container engine (Docker, Podman...), identified by a stable engine ID: Docker's from
    ``GET /info``, others' derived from what they keep (``engine.identity``).

    A root daemon belongs to a host; a nested (DinD) daemon points at the container it runs in.
    """

    class Access(models.TextChoices):
        SOCKET = "socket", "unix socket"
        TCP = "tcp", "tcp"
        SSH = "ssh", "ssh"
        EXEC = "exec", "docker exec into its container"

    engine_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, blank=True)
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.CASCADE, related_name="daemons"
    )
    container = models.OneToOneField(
        "Container",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="nested_daemon",
        help_text="The DinD container this daemon runs in.",
    )
    registered_endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="daemons"
    )
    endpoint = models.CharField(max_length=500, help_text="How the project reaches it.")
    engine = models.CharField(
        max_length=16, default="docker", help_text="What implements it: docker, podman, unknown."
    )
    identity = models.CharField(
        max_length=16,
        default="engine-id",
        help_text="Where its engine ID comes from: engine-id (its own /info ID), store (Podman: "
        "its host and store) or route (how the project reaches it).",
    )
    access = models.CharField(max_length=8, choices=Access.choices, default=Access.SOCKET)
    version = models.CharField(max_length=64, blank=True)
    api_version = models.CharField(max_length=16, blank=True)
    operating_system = models.CharField(max_length=255, blank=True)
    nesting = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UP)
    last_error = models.TextField(blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    unreachable_since = models.DateTimeField(null=True, blank=True)
    watch = models.CharField(
        max_length=8,
        choices=[("events", "events, resynced"), ("polling", "polling")],
        default="polling",
        help_text="How the watcher follows it: its event stream, or polls (no usable stream).",
    )
    watch_since = models.DateTimeField(null=True, blank=True)
    behind = models.PositiveIntegerField(
        default=0,
        help_text="How many seconds its reads run behind their schedule, rounded down to 0, 5, 15, "
        "60 or 300 (an overloaded watcher or poll queue); written when that changes.",
    )

    objects = DaemonQuerySet.as_manager()

    class Meta:
        ordering = ["nesting", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(host__isnull=False) | models.Q(container__isnull=False),
                name="daemon_has_a_place",
                violation_error_message="A daemon runs on a host or inside a container.",
            ),
            models.CheckConstraint(
                condition=~models.Q(engine_id=""), name="daemon_engine_id_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.engine_id

    @property
    def reachable(self) -> bool:
        return self.status == Status.UP


class ContainerQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ContainerQuerySet:
        """The containers of the daemons ``user`` may see."""
        if user.is_authenticated and user.is_superuser:
            return self
        return self.filter(daemon__in=Daemon.objects.visible_to(user))


class Container(models.Model):
    class Role(models.TextChoices):
        PLAIN = "plain", "plain"
        DIND = "dind", "Docker-in-Docker"
        DOOD = "dood", "Docker-out-of-Docker"

    class State(models.TextChoices):
        RUNNING = "running"
        EXITED = "exited"
        PAUSED = "paused"
        CREATED = "created"
        RESTARTING = "restarting"
        DEAD = "dead"
        REMOVING = "removing"

    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="containers")
    container_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    image = models.CharField(max_length=500)
    image_id = models.CharField(max_length=128, blank=True)
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.PLAIN)
    privileged = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices)
    status_text = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    mounts = models.JSONField(default=list, blank=True)
    ports = models.JSONField(default=list, blank=True)
    networks = models.JSONField(default=list, blank=True)
    attachments = models.JSONField(
        default=list,
        blank=True,
        help_text="Its endpoint on each network: network_id, name, ipv4, ipv6, aliases.",
    )
    network_mode = models.CharField(
        max_length=300,
        blank=True,
        help_text="default, bridge, host, none, container:<id> (a shared network stack) or a "
        "network's name.",
    )
    socket_target = models.ForeignKey(
        Daemon,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="socket_clients",
        help_text="For DooD: the daemon whose socket is mounted into this container.",
    )
    client_target = models.ForeignKey(
        Daemon,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tcp_clients",
        help_text="The daemon its DOCKER_HOST names (drawn as a client edge); the setting itself "
        "is never stored.",
    )
    sets_docker_host = models.BooleanField(
        default=False,
        help_text="Its configuration sets DOCKER_HOST to a TCP daemon (the value is not kept): "
        "while that daemon is not known, each poll inspects it again.",
    )
    created_by = models.CharField(
        max_length=64,
        blank=True,
        help_text="Full ID of the container on the same daemon that asked for this one (drawn "
        "as a created edge); known for the project's own demos only.",
    )
    health = models.CharField(
        max_length=16,
        choices=[(state, state) for state in HEALTH_STATES],
        default="none",
        help_text="healthy, unhealthy, starting, or none (no healthcheck).",
    )
    health_log = models.JSONField(
        default=dict,
        blank=True,
        help_text="The failing streak and last probes (bounded), as last inspected.",
    )
    stale = models.BooleanField(default=False)
    last_seen = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Digest of the fields above."
    )

    objects = ContainerQuerySet.as_manager()

    class Meta:
        ordering = ["daemon", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["container_id"],
                name="container_id_unique",
                violation_error_message="A container is one node: one daemon lists it.",
            ),
            models.CheckConstraint(
                condition=models.Q(container_id__regex=r"^[0-9a-f]{64}$"),
                name="container_id_is_full_hex",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Network(models.Model):
    """A network of a daemon, as its engine describes it (who is attached: the containers')."""

    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="networks")
    network_id = models.CharField(max_length=128)
    name = models.CharField(max_length=255)
    driver = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=16, blank=True)
    internal = models.BooleanField(default=False)
    attachable = models.BooleanField(default=False)
    ingress = models.BooleanField(default=False)
    ipv6 = models.BooleanField(default=False)
    subnets = models.JSONField(default=list, blank=True, help_text="CIDR strings, IPv4 and IPv6.")
    gateways = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["daemon", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["daemon", "network_id"], name="network_unique_per_daemon"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Volume(models.Model):
    """A named volume of a daemon (who uses it: the containers' mounts)."""

    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=255)
    driver = models.CharField(max_length=64, blank=True)
    scope = models.CharField(max_length=16, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["daemon", "name"]
        constraints = [
            models.UniqueConstraint(fields=["daemon", "name"], name="volume_unique_per_daemon")
        ]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    """An image in a daemon's cache (each daemon has its own: a DinD's is not its host's)."""

    daemon = models.ForeignKey(Daemon, on_delete=models.CASCADE, related_name="images")
    image_id = models.CharField(max_length=140, help_text="sha256:<hex>, as the engine names it.")
    tags = models.JSONField(default=list, blank=True, help_text="repo:tag references.")
    digests = models.JSONField(
        default=list, blank=True, help_text="repo@sha256:... (known once pulled or pushed)."
    )
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes.")
    created = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["daemon", "image_id"]
        constraints = [
            models.UniqueConstraint(fields=["daemon", "image_id"], name="image_unique_per_daemon")
        ]

    def __str__(self) -> str:
        return self.tags[0] if self.tags else self.image_id[:19]


class GraphRevision(models.Model):
    """One row: the graph's version, bumped in the same transaction as every change."""

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"graph version {self.number}"

    @classmethod
    def current(cls) -> int:
        return cls.objects.filter(pk=1).values_list("number", flat=True).first() or 0


class TerminalSession(models.Model):
    """The audit log of interactive terminals: who opened a shell in which container, when, for
    how long, and how many bytes went each way. Rows are written by ``terminals`` only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    container_id = models.CharField(max_length=64)
    container_name = models.CharField(max_length=255)
    engine_id = models.CharField(max_length=255, help_text="The daemon that runs the container.")
    team = models.CharField(max_length=64, blank=True, help_text="The team's slug, if any.")
    allowed_by = models.CharField(
        max_length=32, help_text="team-exec (a team admin, exec on) or demo-owner."
    )
    started = models.DateTimeField(auto_now_add=True)
    ended = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    bytes_in = models.PositiveBigIntegerField(default=0, help_text="Typed by the user.")
    bytes_out = models.PositiveBigIntegerField(default=0, help_text="Printed by the shell.")

    class Meta:
        ordering = ["-started"]

    def __str__(self) -> str:
        return f"{self.username} in {self.container_name} at {self.started:%Y-%m-%d %H:%M:%S}"
