"""Where nested daemons are and which sockets lead to which daemon: pure functions of the data."""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Iterable, Mapping

from topology.engine.types import ContainerInfo, Mount, Route

MANAGED_LABEL = "topology.managed"
ENDPOINT_LABEL = "topology.endpoint"
ENDPOINT_SIGNATURE_LABEL = "topology.endpoint-signature"
SOCKET_DIRECTORIES = ("/var/run", "/run")
SOCKET_FILES = ("/var/run/docker.sock", "/run/docker.sock")
DIND_IMAGE = re.compile(r"(^|[/:-])dind($|[-.@])")
LOOPBACK = ("127.0.0.1", "0.0.0.0", "", "::", "::1", "localhost")  # noqa: S104 (matching, not binding)


def looks_like_dind(container: ContainerInfo) -> bool:
    """A container that runs dockerd, or whose image is a ``*:dind`` image."""
    return bool(container.runs_dockerd) or bool(DIND_IMAGE.search(container.image))


def may_run_dockerd(container: ContainerInfo) -> bool:
    """Whether its processes are worth a look (``/top``) for a dockerd: running, and either
    able to run one (``nesting_capable``; unknown counts as able) or of a ``*:dind`` image.
    A container without privileges, CAP_SYS_ADMIN or Sysbox cannot mount dockerd's storage, so
    the thousands of plain containers of a big engine cost one request each, not two."""
    if container.state != "running":
        return False
    return container.nesting_capable is not False or bool(DIND_IMAGE.search(container.image))


def normal_path(path: str) -> str:
    """``/var/run`` is a link to ``/run`` on current systems: compare them as one."""
    path = posixpath.normpath(path)
    if path == "/var/run" or path.startswith("/var/run/"):
        path = path.removeprefix("/var")
    return path


PathMap = tuple[tuple[str, str], ...]
"""Where paths of a daemon's machine are on ours: ``(folder there, same folder here)`` pairs."""

SAME_MACHINE: PathMap = (("/", "/"),)


def bind_path_map(mounts: Iterable[Mount]) -> PathMap:
    """The path map of a daemon that runs inside a container with these mounts."""
    return tuple(
        (normal_path(m.destination), m.source)
        for m in sorted(mounts, key=lambda m: -len(m.destination))
        if m.type == "bind" and m.source and m.destination
    )


def path_here(path: str, path_map: PathMap) -> str | None:
    """``path`` on a daemon's machine as a path on ours, or None when it is not shared."""
    path = normal_path(path)
    for there, here in path_map:
        if path == there or path.startswith(there.rstrip("/") + "/"):
            return posixpath.join(here, posixpath.relpath(path, there))
    return None


def endpoint_signature(key: bytes, container_name: str, endpoint: str) -> str:
    """The ``topology.endpoint-signature`` the project writes beside its ``topology.endpoint``
    label: an HMAC, with the installation's key, of the container's name and that endpoint."""
    message = f"{container_name}\n{endpoint}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def endpoint_labels(key: bytes, container_name: str, endpoint: str) -> dict[str, str]:
    """The labels that tell the poller where a DinD container's nested daemon is."""
    return {
        ENDPOINT_LABEL: endpoint,
        ENDPOINT_SIGNATURE_LABEL: endpoint_signature(key, container_name, endpoint),
    }


def _inside(path: str, folder: str) -> bool:
    path, folder = normal_path(path), normal_path(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def vouched_endpoint(container: ContainerInfo, key: bytes, path_map: PathMap) -> str | None:
    """The ``topology.endpoint`` label of ``container``, when the project wrote it; else None.

    Anyone who can start a container on a monitored engine can write any label, so the label
    counts only on a container that carries ``topology.managed=true`` and the signature only
    this installation can make (``endpoint_signature``), and only for a ``unix://`` socket that
    lies inside one of the container's own bind mounts, as a path on this machine. Never plain
    TCP, never any other socket of the server.
    """
    labels = container.labels
    endpoint = labels.get(ENDPOINT_LABEL, "")
    signature = labels.get(ENDPOINT_SIGNATURE_LABEL, "")
    if not key or labels.get(MANAGED_LABEL) != "true" or not endpoint.startswith("unix://"):
        return None
    if not hmac.compare_digest(signature, endpoint_signature(key, container.name, endpoint)):
        return None
    path = endpoint.removeprefix("unix://")
    for mount in container.mounts:
        if mount.type != "bind" or not mount.source:
            continue
        here = path_here(mount.source, path_map)
        if here is not None and _inside(path, here):
            return endpoint
    return None


def nested_route(
    container: ContainerInfo, parent: Route, path_map: PathMap = (), label_key: bytes = b""
) -> Route:
    """How to reach the daemon inside a DinD container, in the order of preference.

    1. our own ``topology.endpoint`` label, where the project vouches for it
       (``vouched_endpoint``, with the installation's ``label_key``);
    2. a host-path bind mount over ``/var/run``, ``/run`` or the socket file, when the mount's
       source is a path on this machine (``path_map`` says where the parent's paths are here);
    3. port 2375 published on loopback (for a parent daemon running on this machine);
    4. otherwise ``docker exec`` into the container through the parent's route.
    """
    vouched = vouched_endpoint(container, label_key, path_map)
    if vouched is not None:
        return Route(url=vouched)
    for mount in container.mounts:
        if mount.type != "bind" or not mount.source:
            continue
        source = path_here(mount.source, path_map)
        if source is None:
            continue
        destination = normal_path(mount.destination)
        if destination in {normal_path(d) for d in SOCKET_DIRECTORIES}:
            return Route(url=f"unix://{posixpath.join(source, 'docker.sock')}")
        if destination in {normal_path(f) for f in SOCKET_FILES}:
            return Route(url=f"unix://{source}")
    if path_map == SAME_MACHINE:
        for port in container.ports:
            if port.private_port == 2375 and port.public_port and port.ip in LOOPBACK:
                return Route(url=f"tcp://127.0.0.1:{port.public_port}", insecure=True)
    return Route(url=f"exec://{container.id}", via=parent)


def socket_target(
    container: ContainerInfo, sockets: Mapping[str, str], own_nested: str | None = None
) -> str | None:
    """The engine ID whose socket ``container`` has mounted, if any.

    ``sockets`` maps socket paths, as seen by the daemon that runs the container, to engine IDs.
    A bind mount of the socket file or of a folder holding it counts. ``own_nested`` is the
    engine running inside this very container (its socket folder is its own, not DooD).
    """
    for mount in container.mounts:
        if mount.type != "bind" or not mount.source:
            continue
        source = normal_path(mount.source)
        for path, engine_id in sockets.items():
            if engine_id == own_nested:
                continue
            target = normal_path(path)
            if target == source or target.startswith(source.rstrip("/") + "/"):
                return engine_id
    return None


def socket_paths(
    engine_id: str, route: Route, path_map: PathMap, local_daemons: Iterable[tuple[str, Route]]
) -> dict[str, str]:
    """The sockets visible to containers of the daemon ``engine_id``, by path on its machine.

    Inside any daemon's own machine its socket is at the default paths. A daemon running on
    this machine also sees every other daemon whose socket is a file on this machine.
    """
    paths = {path: engine_id for path in SOCKET_FILES}
    if path_map == SAME_MACHINE:
        for other_id, other_route in local_daemons:
            if other_route.socket_path:
                paths[other_route.socket_path] = other_id
        if route.socket_path:
            paths[route.socket_path] = engine_id
    return paths
