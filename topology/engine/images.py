"""Offline demo images: made here, from this machine's own binaries, never pulled.

No registry need be reachable, so every demo image can be made with ``docker import`` from a
root filesystem assembled here, in a tar archive, out of this machine's own binaries:

* ``topology/workload:offline``: busybox-static and its applet links, idling forever;
* ``topology/docker-cli:offline``: the same plus the docker CLI, for Docker-out-of-Docker
  (mount the host socket at ``/var/run/docker.sock``);
* ``topology/dind:offline``: the same plus dockerd, containerd, the runc shim, runc,
  docker-init and docker-proxy, with an entrypoint that starts a nested daemon (which
  ``topology.engine.dind`` runs).

Binaries are found at run time with :func:`shutil.which`; their shared libraries and ELF
interpreter are found with ``ldd`` and copied to the paths ``ldd`` reports, so the images
follow whatever versions the host has installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO

import docker
from docker.errors import APIError, ImageNotFound
from docker.models.images import Image

__all__ = [
    "CLI_IMAGE",
    "DIND_IMAGE",
    "IDLE_COMMAND",
    "MANAGED_LABEL",
    "MANAGED_LABELS",
    "WORKLOAD_IMAGE",
    "MissingBinaryError",
    "build_offline_images",
    "offline_tag",
    "seed_image",
]

DIND_IMAGE = "topology/dind:offline"
WORKLOAD_IMAGE = "topology/workload:offline"
CLI_IMAGE = "topology/docker-cli:offline"

MANAGED_LABEL = "topology.managed"
MANAGED_LABELS: dict[str, str] = {MANAGED_LABEL: "true"}
ROLE_LABEL = "topology.image.role"
#: Images carry no ``topology.managed`` label: containers inherit image labels, and a
#: container someone else starts from our image is not ours to manage.
VERSION_LABEL = "topology.image.version"
IMAGE_VERSION = "2"

#: ``PATH`` inside every image, also searched (after ``$PATH``) for host binaries.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DIND_ENTRYPOINT = "/usr/local/bin/dind-entrypoint"
#: ``sleep`` that still stops at once on SIGTERM (a bare ``sleep`` as PID 1 ignores it).
IDLE_COMMAND = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait"]


class MissingBinaryError(RuntimeError):
    """A program an image needs is not installed on this machine."""

    def __init__(self, name: str, package: str, searched: str) -> None:
        super().__init__(
            f"{name!r} was not found (searched {searched}); "
            f"install the Debian package that provides it: apt-get install {package}"
        )
        self.name = name
        self.package = package


@dataclass(frozen=True)
class _Program:
    """A host program copied into an image, and the apt package that provides it."""

    name: str
    package: str
    target_dir: str = "/usr/local/bin"


_BUSYBOX = _Program("busybox", "busybox-static", "/bin")
_DOCKER_CLI = _Program("docker", "docker.io")
_ENGINE_PROGRAMS = (
    _Program("dockerd", "docker.io"),
    _Program("docker-proxy", "docker.io"),
    _Program("docker-init", "docker.io tini"),
    _Program("containerd", "containerd"),
    # dockerd 20.10 and later run containers through the io.containerd.runc.v2 runtime.
    _Program("containerd-shim-runc-v2", "containerd"),
    _Program("runc", "runc"),
)


def _search_path() -> str:
    seen: list[str] = []
    for entry in [*os.environ.get("PATH", "").split(os.pathsep), *IMAGE_PATH.split(":")]:
        if entry and entry not in seen:
            seen.append(entry)
    return os.pathsep.join(seen)


def _find_program(program: _Program) -> Path:
    search = _search_path()
    found = shutil.which(program.name, path=search)
    if found is None:
        raise MissingBinaryError(program.name, program.package, search)
    return Path(found)


def shared_libraries(binary: Path) -> list[Path]:
    """Absolute paths of the shared objects ``binary`` loads, ELF interpreter included.

    Parsed from ``ldd``; an empty list for a static binary. Paths are the ones the dynamic
    loader resolved (``/lib/x86_64-linux-gnu/libc.so.6``, ``/lib64/ld-linux-x86-64.so.2``),
    which is where the loader will look for them inside the image too.
    """
    ldd = shutil.which("ldd", path=_search_path())
    if ldd is None:
        raise MissingBinaryError("ldd", "libc-bin", _search_path())
    result = subprocess.run(
        [ldd, str(binary)], capture_output=True, text=True, check=False, timeout=60
    )
    output = result.stdout + result.stderr
    if "not a dynamic executable" in output or "statically linked" in output:
        return []
    if result.returncode != 0:
        raise RuntimeError(f"ldd {binary} failed ({result.returncode}): {output.strip()}")
    libraries: list[Path] = []
    for raw in result.stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, arrow, target = line.partition("=>")
        if arrow and target.strip().startswith("not found"):
            raise RuntimeError(f"{binary} needs {name.strip()}, which ldd cannot find")
        path = (target if arrow else name).strip().split(" (0x", 1)[0].strip()
        if path.startswith("/"):  # skips linux-vdso.so.1, which the kernel provides
            libraries.append(Path(path))
    return libraries


class _RootFS:
    """A root filesystem written straight into an uncompressed tar archive.

    Parent directories are added on demand and every path is stored once, so the archive
    never holds two entries for the same name.
    """

    def __init__(self, fileobj: IO[bytes]) -> None:
        # Closed by close(); the archive outlives this call.
        self._tar = tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self._paths: set[str] = set()
        self._mtime = int(time.time())

    @staticmethod
    def _key(path: str | PurePosixPath) -> str:
        return str(PurePosixPath("/", path)).lstrip("/")

    def __contains__(self, path: str | PurePosixPath) -> bool:
        return self._key(path) in self._paths

    def _info(self, path: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        key = self._key(path)
        parent = str(PurePosixPath(key).parent)
        if parent not in (".", "") and parent not in self._paths:
            self.directory(parent)
        info = tarfile.TarInfo(key)
        info.type = kind
        info.mode = mode
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = self._mtime
        self._paths.add(key)
        return info

    def directory(self, path: str, mode: int = 0o755) -> None:
        if path in self:
            return
        self._tar.addfile(self._info(path, tarfile.DIRTYPE, mode))

    def data(self, path: str, content: bytes | str, mode: int = 0o644) -> None:
        raw = content.encode() if isinstance(content, str) else content
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(raw)
        self._tar.addfile(info, io.BytesIO(raw))

    def copy(self, path: str, source: Path) -> None:
        """Store the content of ``source`` (symlinks followed) as a regular file."""
        real = source.resolve(strict=True)
        stat = real.stat()
        info = self._info(path, tarfile.REGTYPE, stat.st_mode & 0o7777)
        info.size = stat.st_size
        info.mtime = int(stat.st_mtime)
        with real.open("rb") as handle:
            self._tar.addfile(info, handle)

    def symlink(self, path: str, target: str) -> None:
        info = self._info(path, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self._tar.addfile(info)

    def program(self, source: Path, path: str) -> None:
        """Copy an executable to ``path`` together with every shared library it loads."""
        self.copy(path, source)
        for library in shared_libraries(source):
            if library not in self:
                self.copy(str(library), library)

    def close(self) -> None:
        self._tar.close()


def _base_rootfs(rootfs: _RootFS, role: str) -> None:
    """Directories, account files and busybox with a link for each of its applets."""
    for directory in (
        "/bin",
        "/sbin",
        "/usr/bin",
        "/usr/sbin",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/etc",
        "/dev",
        "/proc",
        "/sys",
        "/run",
        "/var/run",
        "/var/lib",
    ):
        rootfs.directory(directory)
    rootfs.directory("/root", 0o700)
    rootfs.directory("/tmp", 0o1777)  # noqa: S108 - inside the image, not on this host
    rootfs.directory("/var/tmp", 0o1777)  # noqa: S108
    rootfs.data(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    rootfs.data("/etc/group", "root:x:0:\nnogroup:x:65534:\n")
    rootfs.data("/etc/nsswitch.conf", "hosts: files dns\nnetworks: files\n")
    for placeholder in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        rootfs.data(placeholder, "")  # Docker bind-mounts its own over these.
    rootfs.data(
        "/etc/os-release",
        f'NAME="topology offline"\nID=topology\nPRETTY_NAME="topology offline {role} image"\n',
    )

    busybox = _find_program(_BUSYBOX)
    rootfs.program(busybox, "/bin/busybox")
    listing = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=False, timeout=30
    )
    if listing.returncode == 0:
        applets = listing.stdout.split()
    else:  # very old busybox: no --list-full, put every applet in /bin
        names = subprocess.run(
            [str(busybox), "--list"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.split()
        applets = [f"bin/{name}" for name in names]
    for applet in applets:
        if applet != "bin/busybox" and applet not in rootfs:
            rootfs.symlink(applet, "/bin/busybox")


def _install(rootfs: _RootFS, program: _Program) -> None:
    rootfs.program(_find_program(program), f"{program.target_dir}/{program.name}")


_ENTRYPOINT_SCRIPT = r"""#!/bin/sh
# Starts a nested Docker daemon; arguments are passed on to dockerd.
#   DIND_CGROUP_PARENT   cgroup parent of the nested containers (/topology-nested-<hostname>)
#   DIND_STORAGE_DRIVER  storage driver (default: overlay2, or vfs when /var/lib/docker is
#                        itself on overlayfs, i.e. when no volume is mounted there)
# The socket is /var/run/docker.sock; mount a host directory on /var/run to reach it.
set -eu

parent="${DIND_CGROUP_PARENT:-/topology-nested-$(hostname)}"
mkdir -p /var/run /run /var/lib/docker /tmp

# Type of the filesystem holding $1: the longest mount point in /proc/mounts above it.
fs_type() {
    awk -v path="$1" '
        {
            prefix = ($2 == "/") ? "/" : $2 "/"
            if ((path == $2 || index(path "/", prefix) == 1) && length($2) >= best) {
                best = length($2); type = $3
            }
        }
        END { print type }' /proc/mounts
}

driver="${DIND_STORAGE_DRIVER:-}"
if [ -z "$driver" ]; then
    case "$(fs_type /var/lib/docker)" in
        overlay | aufs) driver=vfs ;;
        *) driver=overlay2 ;;
    esac
    grep -qw overlay /proc/filesystems || driver=vfs
fi

[ -w /sys/fs/cgroup ] ||
    echo "dind-entrypoint: /sys/fs/cgroup is read-only; mount the host's cgroups (rw)" >&2

# Remove the (empty) cgroups the nested daemon leaves behind in the host hierarchy.
cleanup_cgroups() {
    for dir in /sys/fs/cgroup/*/"${parent#/}"; do
        [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    return 0
}

echo "dind-entrypoint: storage driver $driver, cgroup parent $parent" >&2
dockerd \
    --host=unix:///var/run/docker.sock \
    --exec-root=/run/docker \
    --pidfile=/run/docker.pid \
    --data-root=/var/lib/docker \
    --storage-driver="$driver" \
    --cgroup-parent="$parent" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --iptables=false \
    --ip-masq=false \
    --group=root \
    "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT HUP

status=0
wait "$pid" || status=$?
# A trapped signal interrupts wait; wait again until dockerd has really finished.
while kill -0 "$pid" 2>/dev/null; do
    status=0
    wait "$pid" || status=$?
done
cleanup_cgroups
exit "$status"
"""


@dataclass(frozen=True)
class _ImageSpec:
    tag: str
    role: str
    populate: Callable[[_RootFS], None]
    cmd: list[str]
    entrypoint: list[str] | None = None

    def changes(self) -> list[str]:
        changes = [
            f"LABEL {ROLE_LABEL}={self.role} {VERSION_LABEL}={IMAGE_VERSION}",
            f"ENV PATH={IMAGE_PATH}",
            "WORKDIR /",
            f"CMD {json.dumps(self.cmd)}",
        ]
        if self.entrypoint is not None:
            changes.append(f"ENTRYPOINT {json.dumps(self.entrypoint)}")
        return changes


def _workload_rootfs(rootfs: _RootFS) -> None:
    _base_rootfs(rootfs, "workload")


def _cli_rootfs(rootfs: _RootFS) -> None:
    _base_rootfs(rootfs, "docker-cli")
    _install(rootfs, _DOCKER_CLI)


def _dind_rootfs(rootfs: _RootFS) -> None:
    _base_rootfs(rootfs, "dind")
    for program in (*_ENGINE_PROGRAMS, _DOCKER_CLI):
        _install(rootfs, program)
    rootfs.directory("/var/lib/docker", 0o711)
    rootfs.data(DIND_ENTRYPOINT, _ENTRYPOINT_SCRIPT, 0o755)


_IMAGES = (
    _ImageSpec(WORKLOAD_IMAGE, "workload", _workload_rootfs, IDLE_COMMAND),
    _ImageSpec(CLI_IMAGE, "docker-cli", _cli_rootfs, ["docker", "ps"]),
    _ImageSpec(DIND_IMAGE, "dind", _dind_rootfs, [], [DIND_ENTRYPOINT]),
)


def _find_image(client: docker.DockerClient, tag: str) -> Image | None:
    """The image at ``tag`` if this version of the code built it (older ones are rebuilt)."""
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return None
    return image if image.labels.get(VERSION_LABEL) == IMAGE_VERSION else None


def _import(client: docker.DockerClient, spec: _ImageSpec) -> Image:
    repository, _, version = spec.tag.rpartition(":")
    with tempfile.TemporaryFile(prefix="topology-rootfs-") as archive:
        rootfs = _RootFS(archive)
        try:
            spec.populate(rootfs)
        finally:
            rootfs.close()
        archive.seek(0)
        answer = client.api.import_image(
            src=archive, repository=repository, tag=version, changes=spec.changes()
        )
    for line in str(answer).splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and ("error" in message or "errorDetail" in message):
            raise RuntimeError(f"docker import of {spec.tag} failed: {message}")
    image = client.images.get(spec.tag)
    if image.labels.get(VERSION_LABEL) != IMAGE_VERSION:
        raise RuntimeError(f"{spec.tag} was imported without the {VERSION_LABEL} label")
    return image


def offline_tag(image: str, tag: str = "offline") -> str:
    """One of the offline images under another tag: ``topology/dind:<tag>``."""
    return f"{image.rpartition(':')[0]}:{tag}"


def build_offline_images(
    client: docker.DockerClient,
    *,
    force: bool = False,
    only: Collection[str] | None = None,
    tag: str = "offline",
) -> list[str]:
    """Import the demo images into ``client``'s engine; return the tags built.

    ``only`` picks some of them (by their default names, :data:`DIND_IMAGE`...), ``tag``
    replaces ``offline`` in their names. An image that already exists is skipped unless
    ``force``; a forced rebuild removes the image it replaces when nothing uses it any more.
    Raises :class:`MissingBinaryError` naming the apt package to install when a program is
    missing from this machine.
    """
    built: list[str] = []
    for default in _IMAGES:
        if only is not None and default.tag not in only:
            continue
        spec = replace(default, tag=offline_tag(default.tag, tag))
        previous = _find_image(client, spec.tag)
        if previous is not None and not force:
            continue
        image = _import(client, spec)
        built.append(spec.tag)
        if previous is not None and previous.id != image.id:
            # Still used by a container: it stays, untagged.
            with contextlib.suppress(APIError):
                client.images.remove(previous.id, noprune=False)
    return built


def seed_image(
    source_client: docker.DockerClient, target_client: docker.DockerClient, tag: str
) -> Image:
    """Copy image ``tag`` from one daemon to another, streaming ``save`` into ``load``."""
    archive: Iterable[bytes] = source_client.api.get_image(tag, chunk_size=1024 * 1024)
    for message in target_client.api.load_image(archive):
        if isinstance(message, dict) and ("error" in message or "errorDetail" in message):
            detail = message.get("errorDetail") or message.get("error")
            raise RuntimeError(f"loading {tag} into the target daemon failed: {detail}")
    return target_client.images.get(tag)
