"""Running Docker-in-Docker: the two profiles, starting a DinD container, waiting for its
daemon, and cleaning up after it.

``--privileged`` is the usual way, but an engine whose own bounding set lacks a capability (on
the development VM root has no ``CAP_SYS_RESOURCE``) cannot start privileged containers: runc
fails with "unable to apply caps". The *compatible* profile (see :func:`dind_run_options`)
grants every capability the engine can give, no seccomp or AppArmor confinement, unmasked
``/proc`` paths, access to every device, and the host's cgroup hierarchy; the nested daemon
puts its containers under a cgroup parent of its own, ``/topology-nested-<hostname>``.
:func:`run_dind` tries privileged first and falls back to that profile.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

import docker
import requests
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container

from topology.engine.images import DIND_IMAGE, MANAGED_LABELS

__all__ = [
    "PROFILE_COMPATIBLE",
    "PROFILE_PRIVILEGED",
    "SYSTEM_PATHS_UNCONFINED",
    "capability_names",
    "describe_command",
    "dind_run_options",
    "nested_cgroup_parent",
    "remove_nested_cgroups",
    "run_dind",
    "unavailable_capabilities",
    "wait_for_daemon",
]

PROFILE_PRIVILEGED = "privileged"
PROFILE_COMPATIBLE = "compatible"

#: What ``docker run --security-opt systempaths=unconfined`` does. The CLI turns that option
#: into empty ``MaskedPaths``/``ReadonlyPaths`` before calling the API (the daemon rejects it
#: as a security option) and the Python SDK has no keyword for either, so :func:`run_dind`
#: adds these HostConfig fields itself.
SYSTEM_PATHS_UNCONFINED: dict[str, list[str]] = {"MaskedPaths": [], "ReadonlyPaths": []}

NESTED_CGROUP_PREFIX = "/topology-nested-"

# Linux capability numbers are the indexes; names as Docker spells them (without CAP_).
_CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
)


def capability_names(mask: int) -> list[str]:
    """The capabilities set in a ``/proc/<pid>/status`` mask (``CapEff``, ``CapBnd``...)."""
    return [name for bit, name in enumerate(_CAPABILITIES) if mask >> bit & 1]


def unavailable_capabilities(status_path: str = "/proc/self/status") -> list[str]:
    """Capabilities missing from this process's bounding set, as Docker names them.

    Run next to the engine, this is what the engine cannot hand out either (``[]`` when
    the set is complete or cannot be read).
    """
    try:
        text = Path(status_path).read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("CapBnd:"):
            bounding = int(line.split(":", 1)[1].strip(), 16)
            return [name for bit, name in enumerate(_CAPABILITIES) if not bounding >> bit & 1]
    return []


def dind_run_options(
    privileged: bool,
    *,
    socket_dir: str | None = None,
    volume: str | None = None,
    cgroup_root: str = "/sys/fs/cgroup",
    cap_drop: list[str] | None = None,
    image: str = DIND_IMAGE,
) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create/run`` that start a DinD container.

    ``privileged=True`` is plain ``--privileged``. Otherwise the compatible profile:
    ``cap_add=["ALL"]`` minus ``cap_drop`` (default: the capabilities this machine lacks,
    see :func:`unavailable_capabilities`, or ``SYS_RESOURCE`` when it lacks none), seccomp
    and AppArmor unconfined, the device rule ``a *:* rwm``. Both profiles mount the host
    cgroup hierarchy read-write, which the nested daemon needs on cgroup v1 (without it
    runc fails: "mkdir /sys/fs/cgroup/cpuset/...: read-only file system"). The compatible
    profile also wants ``--security-opt systempaths=unconfined``, which no SDK keyword
    expresses: merge :data:`SYSTEM_PATHS_UNCONFINED` into the HostConfig, as
    :func:`run_dind` does.

    ``socket_dir`` (a directory on the engine's host) is mounted on ``/var/run``, where the
    nested daemon creates ``docker.sock``; ``volume`` is mounted on ``/var/lib/docker``
    (without one the nested daemon stores images with the slow ``vfs`` driver).
    """
    volumes: dict[str, dict[str, str]] = {
        cgroup_root: {"bind": "/sys/fs/cgroup", "mode": "rw"},
    }
    if socket_dir is not None:
        volumes[socket_dir] = {"bind": "/var/run", "mode": "rw"}
    if volume is not None:
        volumes[volume] = {"bind": "/var/lib/docker", "mode": "rw"}
    options: dict[str, Any] = {
        "image": image,
        "detach": True,
        "volumes": volumes,
        # containerd, shim and runc state: fresh on every start, apart from the socket dir.
        "tmpfs": {"/run": "rw,exec,nosuid,nodev,mode=755"},
        "cgroupns": "host",
        "stop_signal": "SIGTERM",
    }
    if privileged:
        options["privileged"] = True
    else:
        options.update(
            cap_add=["ALL"],
            cap_drop=(
                list(cap_drop)
                if cap_drop is not None
                else unavailable_capabilities() or ["SYS_RESOURCE"]
            ),
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            device_cgroup_rules=["a *:* rwm"],
        )
    return options


def _create_container(
    client: docker.DockerClient, options: dict[str, Any], *, unmask_system_paths: bool
) -> Container:
    """``client.containers.create(**options)``, plus :data:`SYSTEM_PATHS_UNCONFINED`."""
    if not unmask_system_paths:
        return client.containers.create(**options)
    host_options = dict(options)
    create_options = {
        key: host_options.pop(key)
        for key in ("image", "command", "name", "labels", "environment", "stop_signal")
        if key in host_options
    }
    host_options.pop("detach", None)
    port_bindings = host_options.pop("ports", None) or {}
    if port_bindings:
        create_options["ports"] = [
            tuple(spec.split("/")) if "/" in spec else spec for spec in port_bindings
        ]
    host_config = client.api.create_host_config(
        binds=host_options.pop("volumes", None),
        port_bindings={spec.split("/")[0]: bound for spec, bound in port_bindings.items()} or None,
        **host_options,
    )
    host_config.update(SYSTEM_PATHS_UNCONFINED)
    created = client.api.create_container(detach=True, host_config=host_config, **create_options)
    return client.containers.get(created["Id"])


_UNKNOWN_CAPABILITY = re.compile(r'unknown capability: "?(?:CAP_)?([A-Z_]+)')


def _is_caps_error(error: APIError) -> bool:
    return "unable to apply caps" in str(error).lower()


def _discard(container: Container) -> None:
    with contextlib.suppress(NotFound):
        container.remove(force=True, v=True)


def run_dind(
    client: docker.DockerClient,
    *,
    name: str,
    labels: dict[str, str],
    socket_dir: str,
    volume: str | None,
    privileged: bool | None = None,
    image: str = DIND_IMAGE,
    command: list[str] | None = None,
    extra_volumes: dict[str, dict[str, str]] | None = None,
    ports: dict[str, Any] | None = None,
) -> tuple[Container, str]:
    """Start a DinD container; return it with the profile it runs under.

    ``privileged=None`` tries :data:`PROFILE_PRIVILEGED` first and, when the engine
    answers "unable to apply caps" (at create or at start), removes the failed container
    and uses :data:`PROFILE_COMPATIBLE`. ``True``/``False`` force one profile. The nested
    socket is ``<socket_dir>/docker.sock`` on the engine's host (see
    :func:`wait_for_daemon`). The container carries ``labels`` plus ``topology.managed``.

    An engine older than a capability rejects dropping it ("unknown capability"); it
    cannot grant it either, so that capability leaves the drop list and the create is
    retried. This happens when this code runs inside a DinD container of a 20.10 engine,
    whose bounding set lacks ``BPF``, ``PERFMON`` and ``CHECKPOINT_RESTORE``.
    """
    profiles = [True, False] if privileged is None else [privileged]
    cap_drop: list[str] | None = None
    while True:
        attempt = profiles[0]
        options = dind_run_options(
            attempt, socket_dir=socket_dir, volume=volume, cap_drop=cap_drop, image=image
        )
        options.update(name=name, labels={**labels, **MANAGED_LABELS})
        if command is not None:
            options["command"] = command
        options["volumes"].update(extra_volumes or {})
        if ports:
            options["ports"] = ports
        container: Container | None = None
        try:
            container = _create_container(client, options, unmask_system_paths=not attempt)
            container.start()
        except APIError as error:
            if container is not None:
                _discard(container)
            unknown = _UNKNOWN_CAPABILITY.search(str(error))
            if not attempt and unknown and unknown.group(1) in options["cap_drop"]:
                cap_drop = [cap for cap in options["cap_drop"] if cap != unknown.group(1)]
                continue
            if len(profiles) > 1 and _is_caps_error(error):
                profiles.pop(0)
                continue
            raise
        container.reload()
        return container, PROFILE_PRIVILEGED if attempt else PROFILE_COMPATIBLE


def nested_cgroup_parent(container: Container) -> str:
    """The cgroup parent the nested daemon in ``container`` uses (entrypoint default)."""
    for entry in container.attrs.get("Config", {}).get("Env") or []:
        key, _, value = entry.partition("=")
        if key == "DIND_CGROUP_PARENT" and value:
            return value
    return NESTED_CGROUP_PREFIX + container.attrs["Config"]["Hostname"]


def remove_nested_cgroups(parent: str, cgroup_root: str = "/sys/fs/cgroup") -> int:
    """Remove the empty cgroups left under ``parent`` in every hierarchy; return a count.

    The entrypoint does this when the nested daemon stops; this is the fallback after a
    kill. Only paths starting with ``/topology-nested-`` are touched, and a cgroup that
    still holds processes stays (the kernel refuses to remove it).
    """
    if not parent.startswith(NESTED_CGROUP_PREFIX) or "/" in parent[1:] or ".." in parent:
        raise ValueError(f"not a nested daemon cgroup parent: {parent!r}")
    removed = 0
    root = Path(cgroup_root)
    if not root.is_dir():
        return 0
    for hierarchy in root.iterdir():
        top = hierarchy / parent.lstrip("/")
        if not top.is_dir():
            continue
        for directory, _subdirs, _files in sorted(os.walk(top), reverse=True):
            try:
                os.rmdir(directory)
                removed += 1
            except OSError:
                pass
    return removed


def wait_for_daemon(
    socket_path: str,
    timeout: float = 60.0,
    *,
    container: Container | None = None,
    interval: float = 0.2,
) -> docker.DockerClient:
    """Poll ``/_ping`` on a unix socket until the daemon answers; return a client for it.

    Each probe has a two-second timeout. With ``container`` (the DinD container), give up
    early, with its last log lines, when it has exited. Raises :class:`TimeoutError`.
    """
    base_url = f"unix://{socket_path}"
    deadline = time.monotonic() + timeout
    last_error = "the socket does not exist yet"
    while time.monotonic() < deadline:
        if container is not None:
            container.reload()
            if container.status in ("exited", "dead"):
                logs = container.logs(tail=20).decode(errors="replace")
                raise RuntimeError(
                    f"DinD container {container.name} exited "
                    f"({container.attrs['State'].get('ExitCode')}) before its daemon "
                    f"answered:\n{logs}"
                )
        if os.path.exists(socket_path):
            probe = docker.APIClient(
                base_url=base_url,
                version=MINIMUM_DOCKER_API_VERSION,
                timeout=2,
            )
            try:
                if probe.ping():
                    return docker.DockerClient(base_url=base_url, timeout=120)
            except (DockerException, requests.RequestException, OSError) as error:
                last_error = str(error)
            finally:
                probe.close()
        time.sleep(interval)
    raise TimeoutError(f"no Docker daemon answered on {socket_path} in {timeout:g}s: {last_error}")


def describe_command(options: dict[str, Any]) -> str:
    """The ``docker run`` command line equivalent to ``options`` (for logs and reports)."""
    words = ["docker", "run", "-d"]
    if options.get("privileged"):
        words.append("--privileged")
    words += [f"--cap-add={cap}" for cap in options.get("cap_add", [])]
    words += [f"--cap-drop={cap}" for cap in options.get("cap_drop", [])]
    words += [f"--security-opt={opt}" for opt in options.get("security_opt", [])]
    if not options.get("privileged"):
        words.append("--security-opt=systempaths=unconfined")
    words += [f"--device-cgroup-rule={rule}" for rule in options.get("device_cgroup_rules", [])]
    if options.get("cgroupns"):
        words.append(f"--cgroupns={options['cgroupns']}")
    for path, mode in options.get("tmpfs", {}).items():
        words.append(f"--tmpfs={path}:{mode}")
    for source, bind in options.get("volumes", {}).items():
        words.append(f"--volume={source}:{bind['bind']}:{bind['mode']}")
    words.append(options.get("image", DIND_IMAGE))
    return shlex.join(words)
