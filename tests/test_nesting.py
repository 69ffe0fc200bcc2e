"""Where nested daemons are, and which mounts are DooD sockets: pure functions."""

from __future__ import annotations

from tests.conftest import container_info
from topology.engine.nesting import (
    SAME_MACHINE,
    bind_path_map,
    endpoint_labels,
    looks_like_dind,
    nested_route,
    path_here,
    socket_paths,
    socket_target,
)
from topology.engine.types import ContainerInfo, Mount, Port, Route

HOST = Route(url="unix:///var/run/docker.sock")


def container(**fields) -> ContainerInfo:
    return container_info("f", "x", **{"image": "busybox", "labels": {}, **fields})


def bind(source: str, destination: str) -> Mount:
    return Mount("bind", source, destination, True)


def test_dind_by_process_or_image() -> None:
    assert looks_like_dind(container(runs_dockerd=True))
    assert looks_like_dind(container(image="docker:27-dind"))
    assert looks_like_dind(container(image="docker:dind"))
    assert looks_like_dind(container(image="registry:5000/docker:dind-rootless"))
    assert not looks_like_dind(container(image="nginx:1.27"))
    assert not looks_like_dind(container(image="dindustries/app"))


KEY = b"k" * 32


def signed(endpoint: str, *, name: str = "x", key: bytes = KEY, **extra: str) -> dict[str, str]:
    return {"topology.managed": "true", **endpoint_labels(key, name, endpoint), **extra}


def test_our_signed_label_wins() -> None:
    labelled = container(
        labels=signed("unix:///srv/d/run/docker.sock"),
        mounts=(bind("/srv/d/run", "/var/run/inner"), bind("/x", "/var/run")),
    )
    route = nested_route(labelled, HOST, SAME_MACHINE, KEY)
    assert route.url == "unix:///srv/d/run/docker.sock" and not route.insecure


def test_a_label_anyone_could_write_leads_nowhere_new() -> None:
    """Only the project's own label counts: managed, signed with this installation's key, a
    unix socket inside the container's own bind mounts. Everything else is ignored, and the
    nested daemon is reached as if there were no label (here: by exec)."""
    mounts = (bind("/srv/d/run", "/data"),)
    forged = [
        {"topology.endpoint": "unix:///srv/d/run/docker.sock"},  # no signature
        {"topology.endpoint": "tcp://127.0.0.1:2375", "topology.managed": "true"},
        signed("tcp://127.0.0.1:2375"),  # signed, but plain TCP
        signed("unix:///var/run/docker.sock"),  # signed, but not in its mounts: the host's
        signed("unix:///srv/d/run/../../../run/docker.sock"),
        signed("unix:///srv/d/run/docker.sock", key=b"another installation's key"),
        signed("unix:///srv/d/run/docker.sock", name="another-container"),
        {**signed("unix:///srv/d/run/docker.sock"), "topology.managed": "false"},
    ]
    for labels in forged:
        route = nested_route(container(labels=labels, mounts=mounts), HOST, SAME_MACHINE, KEY)
        assert route.is_exec, labels
    honest = container(labels=signed("unix:///srv/d/run/docker.sock"), mounts=mounts)
    assert nested_route(honest, HOST, SAME_MACHINE, KEY).url == "unix:///srv/d/run/docker.sock"
    assert nested_route(honest, HOST, SAME_MACHINE, b"").is_exec  # no key: no label is trusted
    remote = Route(url="tcp://build:2376")
    assert nested_route(honest, remote, (), KEY).is_exec  # its paths are not ours


def test_host_path_mount_over_var_run_or_run_or_the_socket() -> None:
    for destination, expected in [
        ("/var/run", "unix:///srv/a/docker.sock"),
        ("/run", "unix:///srv/a/docker.sock"),
        ("/var/run/docker.sock", "unix:///srv/a"),
    ]:
        dind = container(mounts=(bind("/srv/a", destination),))
        assert nested_route(dind, HOST, SAME_MACHINE).url == expected


def test_loopback_port_when_no_socket_is_shared() -> None:
    dind = container(ports=(Port("127.0.0.1", 2375, 32768, "tcp"),))
    route = nested_route(dind, HOST, SAME_MACHINE)
    assert route.url == "tcp://127.0.0.1:32768" and route.insecure


def test_exec_when_nothing_is_exposed() -> None:
    dind = container(ports=(Port("10.0.0.5", 2375, 2375, "tcp"),))
    route = nested_route(dind, HOST, SAME_MACHINE)
    assert route.url == f"exec://{'f' * 64}" and route.via == HOST


def test_paths_of_a_remote_daemon_are_not_ours() -> None:
    dind = container(mounts=(bind("/srv/a", "/var/run"),))
    remote = Route(url="tcp://build:2376")
    assert nested_route(dind, remote, ()).is_exec


def test_dind_in_dind_socket_reaches_host_through_the_outer_mount() -> None:
    outer_map = bind_path_map([bind("/tmp/sock", "/var/run"), bind("/sys/fs/cgroup", "/sys/fs")])
    inner = container(mounts=(bind("/var/run/inner", "/var/run"),))
    nested = Route(url="unix:///tmp/sock/docker.sock")
    assert nested_route(inner, nested, outer_map).url == "unix:///tmp/sock/inner/docker.sock"
    assert path_here("/etc", outer_map) is None


def test_socket_target_by_file_or_folder_mount() -> None:
    sockets = socket_paths(
        "HOST", HOST, SAME_MACHINE, [("NESTED", Route("unix:///tmp/n/docker.sock"))]
    )
    assert socket_target(container(mounts=(bind("/var/run/docker.sock", "/s"),)), sockets) == "HOST"
    assert socket_target(container(mounts=(bind("/run", "/r"),)), sockets) == "HOST"
    assert socket_target(container(mounts=(bind("/tmp/n", "/var/run"),)), sockets) == "NESTED"
    assert socket_target(container(mounts=(bind("/tmp/n", "/x"),)), sockets, "NESTED") is None
    assert socket_target(container(mounts=(bind("/home", "/h"),)), sockets) is None
    volume = Mount("volume", "/var/lib/docker/volumes/v/_data", "/var/run", True)
    assert socket_target(container(mounts=(volume,)), sockets) is None


def test_a_nested_daemon_sees_only_its_own_socket() -> None:
    nested = Route("unix:///tmp/n/docker.sock")
    sockets = socket_paths("NESTED", nested, (("/var/run", "/tmp/n"),), [("HOST", HOST)])
    assert set(sockets.values()) == {"NESTED"}
