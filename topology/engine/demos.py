"""The two teaching scenarios, run on a real engine: DinD and DooD.

Everything here comes from code and settings: images, commands, mounts and privileges are
never taken from a request. Every step is idempotent (a retried launch finds what it made and
goes on), everything carries ``topology.managed=true`` and the demo's labels, and tear-down
and reaping act only on what carries both.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors
import requests.exceptions

from topology.engine import images
from topology.engine.dind import (
    PROFILE_COMPATIBLE,
    PROFILE_PRIVILEGED,
    nested_cgroup_parent,
    remove_nested_cgroups,
    run_dind,
    wait_for_daemon,
)
from topology.engine.nesting import MANAGED_LABEL, endpoint_labels

MANAGED = MANAGED_LABEL
DEMO = "topology.demo"
OWNER = "topology.owner"
EXPIRES = "topology.expires"
ROLE = "topology.role"
CREATED_BY = "topology.created-by"

DIND_STEPS = (
    ("host-workloads", "Starting C1 and C2 on the host"),
    ("dind", "Creating the DinD container"),
    ("daemon", "Waiting for its daemon"),
    ("seed", "Seeding the workload image into it"),
    ("c3", "Starting C3 inside it"),
    ("c4", "Starting C4 inside it"),
)
DOOD_STEPS = (
    ("dood", "Creating the DooD container"),
    ("siblings", "Waiting for the two containers it starts on the host"),
)

Step = Callable[[str], None]
UNIX_PATH_MAX = 107
DEMO_ID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HEX_PREFIX = re.compile(r"^[0-9a-f]{12,64}$")


class DemoError(Exception):
    """A step failed; the message is meant for people."""


@dataclass(frozen=True)
class DemoImages:
    dind: str
    workload: str
    cli: str


@dataclass(frozen=True)
class DemoSpec:
    demo_id: str
    owner: str
    expires: datetime
    images: DemoImages
    folder: Path
    host_socket: str
    label_key: bytes = field(default=b"", repr=False)
    """The installation's key: the DinD container's endpoint label is signed with it, so the
    poller trusts that label (``nesting.vouched_endpoint``)."""
    socket_gid: int = field(default_factory=os.getgid)
    """Group of the nested daemon's socket: the launcher's own, so that the app's other
    processes (same user and group in Compose, not root) can reach it too."""

    @property
    def short(self) -> str:
        return self.demo_id.replace("-", "")[:8]

    def name(self, part: str) -> str:
        return f"topology-{self.short}-{part}"

    def labels(self, role: str) -> dict[str, str]:
        return {
            MANAGED: "true",
            DEMO: self.demo_id,
            OWNER: self.owner,
            EXPIRES: self.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ROLE: role,
        }

    @property
    def socket_folder(self) -> Path:
        return self.folder / "run"

    @property
    def nested_endpoint(self) -> str:
        return f"unix://{self.socket_folder / 'docker.sock'}"


@dataclass(frozen=True)
class LaunchOutcome:
    profile: str | None
    nested_endpoint: str | None


IMAGE_STEP = ("images", "Getting the images")

#: The images each scenario runs (fields of :class:`DemoImages`).
NEEDS = {"dind": ("dind", "workload"), "dood": ("cli", "workload")}
_OFFLINE = {"dind": images.DIND_IMAGE, "workload": images.WORKLOAD_IMAGE, "cli": images.CLI_IMAGE}
BUILT_HERE = "this machine's own binaries"


class Say(Protocol):
    """Hears what is worth showing as progress; ``update`` replaces the line said last."""

    def __call__(self, text: str, *, update: bool = False) -> None: ...


def _silent(text: str, *, update: bool = False) -> None:
    pass


def pull_failure(explanation: str) -> str:
    """Why a pull failed, in a few words, from what the engine answered."""
    text = explanation.lower()
    if "toomanyrequests" in text or "rate limit" in text:
        return "the registry's pull rate limit is reached"
    if any(
        sign in text
        for sign in (
            "no such host",
            "dial tcp",
            "connection refused",
            "network is unreachable",
            "i/o timeout",
            "timeout",
            "server misbehaving",
            "temporary failure in name resolution",
        )
    ):
        return "no registry answered"
    if "unauthorized" in text or "denied" in text:
        return "the registry refused it without a login"
    if "not found" in text or "manifest unknown" in text:
        return "the registry has no such image"
    first = explanation.strip().splitlines()[0] if explanation.strip() else "no reason given"
    return first[:160]


def _present(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _pull(client: docker.DockerClient, tag: str) -> str | None:
    """Pull ``tag``; None when it worked, else why not."""
    try:
        client.images.pull(tag)
    except docker.errors.APIError as error:
        return pull_failure(str(error.explanation or error))
    except requests.exceptions.RequestException:
        return "no registry answered in time"
    return None


def _build(client: docker.DockerClient, roles: list[str], tag: str, say: Say) -> None:
    names = [images.offline_tag(_OFFLINE[role], tag) for role in roles]
    say(f"Building {' and '.join(names)} from {BUILT_HERE}…")
    started = time.monotonic()
    images.build_offline_images(client, only=[_OFFLINE[role] for role in roles], tag=tag)
    elapsed = time.monotonic() - started
    say(f"Built {' and '.join(names)} from {BUILT_HERE} in {elapsed:.1f} s", update=True)


def _cannot_build(error: images.MissingBinaryError, roles: list[str], tag: str) -> str:
    names = " and ".join(images.offline_tag(_OFFLINE[role], tag) for role in roles)
    return (
        f"{names} cannot be built here because {error.name} is not installed; "
        f"run apt-get install {error.package}, then try again"
    )


def ensure_images(
    client: docker.DockerClient,
    wanted: DemoImages,
    policy: str,
    *,
    needs: tuple[str, ...] = ("dind", "workload", "cli"),
    offline_tag: str = "offline",
    say: Say = _silent,
) -> DemoImages:
    """Make sure the images a scenario ``needs`` are on the engine; return the ones to run.

    ``policy`` is ``TOPOLOGY_DEMO_IMAGES``. ``offline``: the offline images (built from this
    machine's binaries when missing), never a pull. ``pull``: ``wanted``, pulled when missing.
    ``auto``: ``wanted`` when present or pulled, else that image's offline stand-in, built
    here when missing. ``say`` hears each thing worth showing as progress. When neither way
    works, :class:`DemoError` says in one sentence what is missing and what to run.
    """
    if policy == "offline":
        missing = [
            role
            for role in needs
            if getattr(wanted, role) == images.offline_tag(_OFFLINE[role], offline_tag)
            and not _present(client, getattr(wanted, role))
        ]
        if missing:
            try:
                _build(client, missing, offline_tag, say)
            except images.MissingBinaryError as error:
                raise DemoError(_cannot_build(error, missing, offline_tag)) from None
        for role in needs:
            if not _present(client, getattr(wanted, role)):
                raise DemoError(
                    f"image {getattr(wanted, role)} is not on the engine and demo images are "
                    "offline-only: build it with 'python manage.py demo_images build'"
                )
        return wanted

    chosen = dict(wanted.__dict__)
    fallback: list[str] = []
    unpulled: dict[str, list[str]] = {}  # why: images
    for role in needs:
        tag = getattr(wanted, role)
        if _present(client, tag):
            continue
        reason = _pull(client, tag)
        if reason is None:
            say(f"Pulled {tag}")
            continue
        if policy == "pull":
            raise DemoError(
                f"{tag} is not on the engine and could not be pulled ({reason}): run "
                f"'docker pull {tag}' once a registry answers, or set TOPOLOGY_DEMO_IMAGES=auto "
                f"to build a stand-in from {BUILT_HERE}"
            )
        unpulled.setdefault(reason, []).append(tag)
        chosen[role] = images.offline_tag(_OFFLINE[role], offline_tag)
        if not _present(client, chosen[role]):
            fallback.append(role)
    for reason, tags in unpulled.items():
        say(f"{' and '.join(tags)} could not be pulled ({reason})")
    ready = [
        chosen[role]
        for role in needs
        if role not in fallback and chosen[role] != getattr(wanted, role)
    ]
    if ready:
        say(f"Using {' and '.join(ready)}, built earlier from {BUILT_HERE}")
    if fallback:
        try:
            _build(client, fallback, offline_tag, say)
        except images.MissingBinaryError as error:
            unpulled = " and ".join(getattr(wanted, role) for role in fallback)
            raise DemoError(
                f"{unpulled} could not be pulled and {_cannot_build(error, fallback, offline_tag)}"
            ) from None
    return DemoImages(**chosen)


def _existing(client: docker.DockerClient, name: str, demo_id: str) -> Any | None:
    found = client.containers.list(
        all=True, filters={"name": f"^{name}$", "label": f"{DEMO}={demo_id}"}
    )
    return found[0] if found else None


def _workload(client: docker.DockerClient, spec: DemoSpec, part: str) -> Any:
    container = _existing(client, spec.name(part), spec.demo_id)
    if container is None:
        try:
            container = client.containers.create(
                spec.images.workload,
                images.IDLE_COMMAND,
                name=spec.name(part),
                labels=spec.labels("workload"),
                network_mode="none",
            )
        except docker.errors.ImageNotFound as error:
            raise DemoError(f"the workload image {spec.images.workload} is missing") from error
    if container.status != "running":
        container.start()
    return container


def launch_dind(client: docker.DockerClient, spec: DemoSpec, step: Step) -> LaunchOutcome:
    """C1 and C2 on the host; a DinD container whose nested daemon runs C3 and C4."""
    step("host-workloads")
    _workload(client, spec, "c1")
    _workload(client, spec, "c2")

    step("dind")
    socket = str(spec.socket_folder / "docker.sock")
    if len(socket.encode()) > UNIX_PATH_MAX:
        raise DemoError(
            f"the nested daemon's socket path {socket} is longer than a unix socket allows "
            f"({UNIX_PATH_MAX} bytes): set TOPOLOGY_DEMO_DIR to a shorter folder"
        )
    spec.socket_folder.mkdir(parents=True, exist_ok=True)
    volume_name = spec.name("dind-data")
    try:
        client.volumes.get(volume_name)
    except docker.errors.NotFound:
        client.volumes.create(name=volume_name, labels=spec.labels("dind"))
    dind = _existing(client, spec.name("dind"), spec.demo_id)
    profile = None
    if dind is None:
        try:
            dind, profile = run_dind(
                client,
                name=spec.name("dind"),
                labels={
                    **spec.labels("dind"),
                    **endpoint_labels(spec.label_key, spec.name("dind"), spec.nested_endpoint),
                },
                socket_dir=str(spec.socket_folder),
                volume=volume_name,
                image=spec.images.dind,
                command=[f"--group={spec.socket_gid}"],
            )
        except docker.errors.ImageNotFound as error:
            raise DemoError(f"the DinD image {spec.images.dind} is missing") from error
        except docker.errors.APIError as error:
            raise DemoError(
                f"the engine refused the DinD container: {error.explanation}"
            ) from error
    else:
        if dind.status != "running":
            dind.start()
        profile = (
            PROFILE_PRIVILEGED if dind.attrs["HostConfig"].get("Privileged") else PROFILE_COMPATIBLE
        )

    step("daemon")
    try:
        nested = wait_for_daemon(socket, timeout=60, container=dind)
    except (TimeoutError, RuntimeError) as error:
        raise DemoError(f"the nested daemon did not start: {error}") from error
    try:
        step("seed")
        try:
            nested.images.get(spec.images.workload)
        except docker.errors.ImageNotFound:
            images.seed_image(client, nested, spec.images.workload)
        step("c3")
        _workload(nested, spec, "c3")
        step("c4")
        _workload(nested, spec, "c4")
    finally:
        nested.close()
    return LaunchOutcome(profile=profile, nested_endpoint=spec.nested_endpoint)


def _dood_script(spec: DemoSpec) -> str:
    """What the DooD container runs: it asks the host's engine for two sibling containers."""
    labels = " ".join(
        f"--label {shlex.quote(f'{key}={value}')}" for key, value in spec.labels("workload").items()
    )
    idle = " ".join(shlex.quote(word) for word in images.IDLE_COMMAND)
    lines = ["set -e", 'me="$(hostname)"']
    for index in (1, 2):
        name = shlex.quote(spec.name(f"sibling-{index}"))
        lines.append(
            f"docker inspect {name} >/dev/null 2>&1 || docker run -d --name {name} {labels} "
            f'--label "{CREATED_BY}=$me" --network none {shlex.quote(spec.images.workload)} {idle}'
        )
        lines.append(f"docker start {name} >/dev/null")
    lines.append("exec sleep 2147483647")
    return "\n".join(lines)


def launch_dood(client: docker.DockerClient, spec: DemoSpec, step: Step) -> LaunchOutcome:
    """A container holding the host's socket and the docker CLI, which starts two siblings."""
    step("dood")
    dood = _existing(client, spec.name("dood"), spec.demo_id)
    if dood is None:
        try:
            dood = client.containers.create(
                spec.images.cli,
                ["sh", "-c", _dood_script(spec)],
                entrypoint=[],
                name=spec.name("dood"),
                labels=spec.labels("dood"),
                volumes={spec.host_socket: {"bind": "/var/run/docker.sock", "mode": "rw"}},
                network_mode="none",
            )
        except docker.errors.ImageNotFound as error:
            raise DemoError(f"the CLI image {spec.images.cli} is missing") from error
    if dood.status != "running":
        dood.start()

    step("siblings")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        siblings = client.containers.list(
            filters={"label": [f"{DEMO}={spec.demo_id}", f"{ROLE}=workload"], "status": "running"}
        )
        if len(siblings) >= 2:
            return LaunchOutcome(profile=None, nested_endpoint=None)
        dood.reload()
        if dood.status != "running":
            logs = dood.logs(tail=5).decode(errors="replace").strip()
            raise DemoError(f"the DooD container stopped before starting its siblings: {logs}")
        time.sleep(0.1)
    raise DemoError("the DooD container did not start its two siblings within 30 seconds")


@dataclass(frozen=True)
class CreationClaim:
    """A container the project's DooD demo asked the daemon for, resolved to its creator."""

    child: str
    creator: str
    demo_id: str


class Labelled(Protocol):
    """A container as listed: a ``ContainerInfo`` or a docker-py ``Container``."""

    @property
    def id(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


def creation_claims(containers: Iterable[Labelled]) -> dict[str, CreationClaim]:
    """Who created which of one daemon's containers, as far as the project can vouch for it.

    A DooD demo's siblings carry ``topology.created-by=<hostname of the DooD container>``. The
    label is honoured only on a workload the project labelled (``topology.managed=true``, a
    demo id), and only when exactly one DooD container of the same demo on the same daemon has
    an id starting with that hostname: the claim is then that container's full id. Anything
    else is not drawn. Whether the demo itself exists is the caller's question (the database).
    """
    listed = list(containers)
    doods: dict[str, list[str]] = {}
    for info in listed:
        labels = info.labels
        if labels.get(MANAGED) == "true" and labels.get(ROLE) == "dood" and DEMO in labels:
            doods.setdefault(labels[DEMO], []).append(info.id)
    claims: dict[str, CreationClaim] = {}
    for info in listed:
        labels = info.labels
        demo_id = labels.get(DEMO, "")
        claimed = labels.get(CREATED_BY, "")
        if (
            labels.get(MANAGED) != "true"
            or labels.get(ROLE) != "workload"
            or not DEMO_ID_TEXT.match(demo_id)
            or not HEX_PREFIX.match(claimed)
        ):
            continue
        matches = [hex_id for hex_id in doods.get(demo_id, []) if hex_id.startswith(claimed)]
        if len(matches) == 1 and matches[0] != info.id:
            claims[info.id] = CreationClaim(info.id, matches[0], demo_id)
    return claims


@dataclass(frozen=True)
class TearDown:
    containers: int
    volumes: int


def _ours(demo_id: str | None = None) -> dict[str, list[str]]:
    wanted = [f"{MANAGED}=true"] + ([f"{DEMO}={demo_id}"] if demo_id else [f"{DEMO}"])
    return {"label": wanted}


def tear_down(client: docker.DockerClient, demo_id: str, folder: Path | None) -> TearDown:
    """Remove a demo's containers (nested ones go with their DinD), images, volumes and host
    folder.

    Only what carries both ``topology.managed=true`` and this demo's label is touched.
    """
    removed = 0
    for container in client.containers.list(all=True, filters=_ours(demo_id)):
        parent = None
        if container.labels.get(ROLE) == "dind":
            parent = nested_cgroup_parent(container)
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                container.stop(timeout=10)
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
            removed += 1
        if parent:
            remove_nested_cgroups(parent)
    for image in client.images.list(filters=_ours(demo_id)):  # build probes a run left
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)
    volumes = 0
    for volume in client.volumes.list(filters=_ours(demo_id)):
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
            volumes += 1
    if folder is not None and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    return TearDown(removed, volumes)


def expired_demo_ids(client: docker.DockerClient, now: datetime) -> set[str]:
    """Demos whose managed containers or volumes say they expired before ``now``."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    found: set[str] = set()
    for labels in [c.labels for c in client.containers.list(all=True, filters=_ours())] + [
        v.attrs.get("Labels") or {} for v in client.volumes.list(filters=_ours())
    ]:
        expires = labels.get(EXPIRES, "")
        if labels.get(MANAGED) == "true" and labels.get(DEMO) and expires and expires < stamp:
            found.add(labels[DEMO])
    return found
