"""Shared fixtures: users and clients, a real Docker engine, a real Redis, clean-up by label."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import docker
import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

MANAGED = {"topology.managed": "true"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user("viewer", password="a-long-test-password-1")


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_superuser("boss", password="a-long-test-password-2")


@pytest.fixture
def logged_in_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=settings.DOCKER_HOST, version="auto", timeout=60)
    yield client
    client.close()


def container_info(id_or_digit: str, name: str | None = None, **fields: Any) -> Any:
    """A running container as an engine lists it, for tests that need no engine: the id is a
    digit repeated 64 times (or given whole); ``fields`` override the rest."""
    from topology.engine.types import ContainerInfo

    base: dict[str, Any] = {
        "id": id_or_digit * 64 if len(id_or_digit) == 1 else id_or_digit,
        "name": name or f"c{id_or_digit[:1]}",
        "image": "topology/workload:offline",
        "image_id": "sha256:" + "0" * 64,
        "state": "running",
        "created": datetime(2026, 1, 1, tzinfo=UTC),
        "labels": {"topology.managed": "true"},
        "mounts": (),
        "ports": (),
        "networks": ("bridge",),
        "privileged": False,
        "runs_dockerd": False,
    }
    return ContainerInfo(**(base | fields))


# --- Every route, with a path that reaches it --------------------------------------------------

SAMPLE_VALUES = {
    "IntConverter": 1,
    "UUIDConverter": uuid.UUID(int=1),
    "SlugConverter": "sample",
    "StringConverter": "sample",
    "PathConverter": "sample",
}
REGEX_SAMPLES = {"format": "json"}  # a named group of a regex route; any other takes "1"
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class RouteSample:
    """One route of ``urls.py``, and a path to it with a valid value for each parameter."""

    name: str
    path: str
    view: Callable[..., Any]

    @property
    def methods(self) -> tuple[str, ...]:
        return view_methods(self.view)


def _route_sample(pattern: Any) -> str:
    """The route text of ``pattern`` with sample values in place of its parameters."""
    from django.urls.resolvers import RegexPattern, RoutePattern
    from django.utils.regex_helper import normalize

    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        for parameter, converter in pattern.converters.items():
            kind = type(converter).__name__
            assert kind in SAMPLE_VALUES, f"no sample value for {kind} in {route!r}"
            value = converter.to_url(SAMPLE_VALUES[kind])
            route = re.sub(rf"<(\w+:)?{parameter}>", value, route)
        return route
    assert isinstance(pattern, RegexPattern), pattern
    text, parameters = normalize(pattern.regex.pattern)[0]
    return text % {name: REGEX_SAMPLES.get(name, "1") for name in parameters}


def route_samples(patterns: list[Any] | None = None, prefix: str = "/") -> list[RouteSample]:
    """Every route the URL resolver knows, each as a path that resolves back to it.

    The admin (Django's own, which asks for staff on every view) stands as its index only.
    """
    from django.urls import URLPattern, URLResolver, get_resolver, resolve

    if patterns is None:
        samples = route_samples(get_resolver().url_patterns, "/")
        for sample in samples:
            match = resolve(sample.path)
            assert (match.view_name, match.func) == (sample.name, sample.view), sample
        return samples
    samples = []
    for pattern in patterns:
        here = prefix + _route_sample(pattern.pattern)
        if isinstance(pattern, URLResolver) and pattern.namespace == "admin":
            index = next(p for p in pattern.url_patterns if getattr(p, "name", None) == "index")
            samples.append(RouteSample("admin:index", here, index.callback))
        elif isinstance(pattern, URLResolver):
            samples += route_samples(pattern.url_patterns, here)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"{here} has no name"
            samples.append(RouteSample(pattern.name, here, pattern.callback))
    return samples


def view_methods(view: Callable[..., Any]) -> tuple[str, ...]:
    """The HTTP methods a view answers (HEAD and OPTIONS aside): what a REST framework view
    defines, or what a page view's ``require_http_methods`` (``require_GET``, ...) allows. A
    page view that says nothing fails here: every page names its methods."""
    import inspect

    view_class = getattr(view, "cls", None)
    if view_class is not None:
        names = view.actions if getattr(view, "actions", None) else vars_of(view_class)
        return tuple(m for m in PROBED_METHODS if m.lower() in names)
    wrapper: Any = view
    while wrapper is not None:
        allowed = inspect.getclosurevars(wrapper).nonlocals.get("request_method_list")
        if allowed is not None:
            return tuple(m for m in PROBED_METHODS if m in allowed)
        wrapper = getattr(wrapper, "__wrapped__", None)
    raise AssertionError(f"{view.__module__}.{view.__name__} does not say which methods it takes")


def vars_of(view_class: type) -> set[str]:
    return {name for name in dir(view_class) if callable(getattr(view_class, name, None))}


def database_url_of_the_test_database(settings_dict: dict) -> str:
    """A URL for the test database (not the one DATABASE_URL names), for a subprocess."""
    name = settings_dict["NAME"]
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{name}"
    if settings_dict["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(settings_dict["USER"] or "", safe="")
        if settings_dict["PASSWORD"]:
            credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
        host = quote(settings_dict["HOST"] or "localhost", safe="")  # a socket folder: %2F...
        port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
        return f"postgres://{credentials}@{host}{port}/{quote(name, safe='')}"
    raise AssertionError(f"no test database URL for {settings_dict['ENGINE']}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen]]:
    """A throw-away redis-server on a free loopback port: ``(url, process)``."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="topology-redis-")
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class SshEngine:
    """The local engine reached over ssh:// through a private sshd on loopback."""

    url: str
    private_key: str
    known_hosts: str
    folder: Path


def _keypair(folder: Path, name: str) -> tuple[str, str]:
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)], check=True
    )
    return path.read_text(), (folder / f"{name}.pub").read_text().strip()


@contextlib.contextmanager
def sshd(docker_host: str | None = None) -> Iterator[SshEngine]:
    """An sshd on a free loopback port that lets one throw-away key in as root, so that
    ``docker system dial-stdio`` on the far side reaches this machine's engine; with
    ``docker_host``, the key's forced command dials that engine instead (another engine over
    ssh, e.g. a DinD's socket)."""
    if not Path("/usr/sbin/sshd").exists() or shutil.which("ssh-keygen") is None:
        pytest.fail("OpenSSH is missing: make test installs openssh-server and openssh-client")
    folder = Path(tempfile.mkdtemp(prefix="topology-sshd-"))
    port = free_port()
    _host_key, host_public = _keypair(folder, "host_key")
    client_key, client_public = _keypair(folder, "client_key")
    forced = f'command="docker -H {docker_host} system dial-stdio" ' if docker_host else ""
    (folder / "authorized_keys").write_text(forced + client_public + "\n")
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    log = (folder / "sshd.log").open("w")
    process = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(folder / "sshd_config")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("sshd did not start:\n" + (folder / "sshd.log").read_text())
                time.sleep(0.05)
        key_type, key = host_public.split()[:2]
        yield SshEngine(
            url=f"ssh://root@127.0.0.1:{port}",
            private_key=client_key,
            known_hosts=f"[127.0.0.1]:{port} {key_type} {key}\n",
            folder=folder,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_engine() -> Iterator[SshEngine]:
    """The local engine over ssh:// (see ``sshd``)."""
    with sshd() as engine:
        yield engine


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TOPOLOGY_OFFLINE", "1")
    # Every graph a test reads back (and a live server it starts serves) is checked.
    os.environ.setdefault("TOPOLOGY_GRAPH_CHECKS", "raise")


@pytest.fixture(autouse=True, scope="session")
def graph_checks_raise() -> None:
    """The settings were read before ``pytest_configure``: in this process too, every graph
    read back breaks the test when it breaks an invariant (``inventory.invariants``)."""
    settings.TOPOLOGY_GRAPH_CHECKS = "raise"


class Cleanup:
    """Undo actions, run last-in first-out; one failing does not stop the others."""

    def __init__(self) -> None:
        self._actions: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add(self, action: Callable[..., Any], *args: Any) -> None:
        self._actions.append((action, args))

    def run(self) -> None:
        errors: list[str] = []
        while self._actions:
            action, args = self._actions.pop()
            try:
                action(*args)
            except docker.errors.NotFound:
                pass
            except Exception as error:
                errors.append(f"{getattr(action, '__name__', action)}{args}: {error!r}")
        assert not errors, "cleanup failed:\n" + "\n".join(errors)


@pytest.fixture
def cleanup() -> Iterator[Cleanup]:
    undo = Cleanup()
    try:
        yield undo
    finally:
        undo.run()


@pytest.fixture(scope="session")
def offline_images(docker_client: docker.DockerClient) -> list[str]:
    from topology.engine import images

    images.build_offline_images(docker_client)
    return [images.WORKLOAD_IMAGE, images.CLI_IMAGE, images.DIND_IMAGE]


#: Demo images on a registry that refuses at once (loopback, port 1): a pull fails for real and
#: never leaves the machine.
UNPULLABLE = {
    "dind": "127.0.0.1:1/topology-test/dind:27",
    "workload": "127.0.0.1:1/topology-test/busybox:1",
    "cli": "127.0.0.1:1/topology-test/docker-cli:27",
}


@pytest.fixture
def fresh_offline_tag(docker_client: docker.DockerClient) -> Iterator[str]:
    """A tag no offline image has yet, so a launch really builds its images; they are removed
    afterwards (after the demos using them: request this fixture before those)."""
    from topology.engine import images

    tag = f"test-{uuid.uuid4().hex[:8]}"
    yield tag
    for image in (images.DIND_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE):
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(images.offline_tag(image, tag))


def unique(prefix: str) -> str:
    return f"topology-test-{prefix}-{uuid.uuid4().hex[:8]}"


def run_workload(client: docker.DockerClient, cleanup: Cleanup, name: str, **options: Any) -> Any:
    from topology.engine.images import IDLE_COMMAND, WORKLOAD_IMAGE

    labels = {**MANAGED, **options.pop("labels", {})}
    image = options.pop("image", WORKLOAD_IMAGE)
    container = client.containers.run(
        image, IDLE_COMMAND, name=name, labels=labels, detach=True, **options
    )
    cleanup.add(_remove, container)
    return container


def _remove(container: Any) -> None:
    """Remove a container; one whose (nested) daemon is already gone went with it."""
    with contextlib.suppress(requests.exceptions.ConnectionError):
        container.remove(force=True, v=True)


def remove_dind(container: Any) -> None:
    """Stop gracefully (the entrypoint stops the nested daemon), then remove, cgroups too."""
    from topology.engine import dind

    parent = dind.nested_cgroup_parent(container)
    try:
        container.stop(timeout=30)
    except requests.exceptions.ConnectionError:
        pass
    finally:
        _remove(container)
        dind.remove_nested_cgroups(parent)


@dataclass
class Dind:
    container: Any
    client: docker.DockerClient
    socket_dir: str
    volume: str


def start_dind(
    client: docker.DockerClient, cleanup: Cleanup, name: str, ports: dict[str, Any] | None = None
) -> Dind:
    """A DinD container on ``client``'s engine, its socket in a host folder, cache in a volume;
    ``ports`` published as ``containers.run`` takes them (loopback addresses only)."""
    from topology.engine import dind, images

    socket_dir = tempfile.mkdtemp(prefix="topology-test-sock-")
    cleanup.add(shutil.rmtree, socket_dir, True)
    volume = client.volumes.create(name=f"{name}-data", labels=MANAGED)
    cleanup.add(volume.remove, True)
    container, _profile = dind.run_dind(
        client, name=name, labels=MANAGED, socket_dir=socket_dir, volume=volume.name, ports=ports
    )
    cleanup.add(remove_dind, container)
    nested = dind.wait_for_daemon(f"{socket_dir}/docker.sock", 60, container=container)
    cleanup.add(nested.close)
    images.seed_image(client, nested, images.WORKLOAD_IMAGE)
    return Dind(container, nested, socket_dir, volume.name)


@dataclass
class World:
    """The seed's picture on the real engine: C1, C2; a DinD with C3, C4; a DooD; DinD in DinD."""

    c1: Any
    c2: Any
    dind: Dind
    c3: Any
    c4: Any
    dood: Any
    inner_dind: Any


@pytest.fixture(scope="session")
def world(docker_client: docker.DockerClient, offline_images: list[str]) -> Iterator[World]:
    from topology.engine import images
    from topology.engine.dind import run_dind

    undo = Cleanup()
    try:
        c1 = run_workload(docker_client, undo, unique("c1"))
        c2 = run_workload(docker_client, undo, unique("c2"))
        dind = start_dind(docker_client, undo, unique("dind"))
        c3 = run_workload(dind.client, undo, "c3")
        c4 = run_workload(dind.client, undo, "c4")
        dood = docker_client.containers.run(
            images.CLI_IMAGE,
            images.IDLE_COMMAND,
            name=unique("dood"),
            labels=MANAGED,
            detach=True,
            volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}},
        )
        undo.add(_remove, dood)
        images.seed_image(docker_client, dind.client, images.DIND_IMAGE)
        inner, _profile = run_dind(
            dind.client,
            name="inner-dind",
            labels=MANAGED,
            socket_dir="/tmp/inner-dind-run",
            volume=None,
        )
        undo.add(_remove, inner)
        _wait_for_exec_daemon(dind.container, "/tmp/inner-dind-run/docker.sock")
        yield World(c1, c2, dind, c3, c4, dood, inner)
    finally:
        undo.run()


@dataclass
class NetworkWorld:
    """Networks, ports and shared volumes on the host engine and in a DinD (see the fixture)."""

    front: Any
    back: Any
    web1: Any
    web2: Any
    web3: Any
    db: Any
    sidecar: Any
    hostnet: Any
    shared_volume: Any
    shared_folder: str
    web3_port: int
    dind: Dind
    dind_port: int
    inner_net: Any
    inner_a: Any
    inner_b: Any


def _network(client: docker.DockerClient, undo: Cleanup, name: str, **options: Any) -> Any:
    network = client.networks.create(name, labels=MANAGED, **options)
    undo.add(network.remove)
    return network


@pytest.fixture(scope="session")
def network_world(
    docker_client: docker.DockerClient, offline_images: list[str]
) -> Iterator[NetworkWorld]:
    """On the host engine: a user network ``front`` with web1, web2 and web3; an internal
    network ``back`` with db and web1 (on both); a sidecar sharing web2's network stack; a
    container in host mode; web3's port 80 published on 127.0.0.1; a named volume mounted by
    web1 and web2 (read-only there), a host folder bind-mounted into web3 and db (read-only
    there). A DinD publishing 127.0.0.1:<port> to its 8080, whose nested daemon has its own
    user network ``inner`` with inner-a (serving HTTP on 80, published on 0.0.0.0:8080 inside
    the DinD: the path host -> DinD -> inner-a) and inner-b. Everything is labelled managed and
    removed at the end, networks and volumes too."""
    from topology.engine.images import WORKLOAD_IMAGE

    undo = Cleanup()
    try:
        tag = uuid.uuid4().hex[:8]
        front = _network(docker_client, undo, f"topology-test-front-{tag}")
        back = _network(docker_client, undo, f"topology-test-back-{tag}", internal=True)
        shared_volume = docker_client.volumes.create(
            name=f"topology-test-shared-{tag}", labels=MANAGED
        )
        undo.add(shared_volume.remove, True)
        shared_folder = tempfile.mkdtemp(prefix="topology-test-shared-")
        undo.add(shutil.rmtree, shared_folder, True)
        web3_port = free_port()
        web1 = run_workload(
            docker_client,
            undo,
            unique("web1"),
            network=front.name,
            volumes={shared_volume.name: {"bind": "/data", "mode": "rw"}},
        )
        back.connect(web1, aliases=["api"])
        web2 = run_workload(
            docker_client,
            undo,
            unique("web2"),
            network=front.name,
            volumes={shared_volume.name: {"bind": "/data", "mode": "ro"}},
        )
        web3 = run_workload(
            docker_client,
            undo,
            unique("web3"),
            network=front.name,
            ports={"80/tcp": ("127.0.0.1", web3_port)},
            volumes={shared_folder: {"bind": "/srv/shared", "mode": "rw"}},
        )
        db = run_workload(
            docker_client,
            undo,
            unique("db"),
            network=back.name,
            volumes={shared_folder: {"bind": "/var/lib/shared", "mode": "ro"}},
        )
        sidecar = run_workload(
            docker_client, undo, unique("sidecar"), network_mode=f"container:{web2.id}"
        )
        hostnet = run_workload(docker_client, undo, unique("hostnet"), network_mode="host")
        dind_port = free_port()
        dind = start_dind(
            docker_client, undo, unique("dind-net"), ports={"8080/tcp": ("127.0.0.1", dind_port)}
        )
        inner_net = _network(dind.client, undo, "inner")
        inner_a = dind.client.containers.run(
            WORKLOAD_IMAGE,
            ["busybox", "httpd", "-f", "-p", "80", "-h", "/tmp"],
            name="inner-a",
            labels=MANAGED,
            detach=True,
            network=inner_net.name,
            ports={"80/tcp": ("0.0.0.0", 8080)},
        )
        undo.add(_remove, inner_a)
        inner_b = run_workload(dind.client, undo, "inner-b", network=inner_net.name)
        yield NetworkWorld(
            front,
            back,
            web1,
            web2,
            web3,
            db,
            sidecar,
            hostnet,
            shared_volume,
            shared_folder,
            web3_port,
            dind,
            dind_port,
            inner_net,
            inner_a,
            inner_b,
        )
    finally:
        undo.run()


def _wait_for_exec_daemon(container: Any, socket: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = container.exec_run(["docker", "-H", f"unix://{socket}", "version"])
        if result.exit_code == 0:
            return
        time.sleep(0.5)
    raise TimeoutError(f"no daemon answered at {socket} inside {container.name}")


# --- Dashboard: a channel layer of the test's own, a live Daphne, the events watcher ---------

LIVE_SETTINGS_MODULE = '''"""Daphne for one test: the test database, the test's channel prefix."""
import os

from topology.settings import *

DATABASES["default"]["NAME"] = os.environ["TOPOLOGY_LIVE_DATABASE_NAME"]
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["TOPOLOGY_LIVE_CHANNELS_PREFIX"]
CELERY_BROKER_URL = os.environ.get("TOPOLOGY_LIVE_BROKER_URL", CELERY_BROKER_URL)
'''


@pytest.fixture
def private_broker(private_redis, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """Celery messages sent by a live server started after this go to a throw-away Redis, where
    no worker takes them: a test sees what was asked for, and nothing is launched."""
    url, _process = private_redis
    monkeypatch.setenv("TOPOLOGY_LIVE_BROKER_URL", url)
    return url


@pytest.fixture
def channel_layer_prefix(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Point the channel layer (the real Redis) at a prefix of this test's own; clean it after."""
    import redis

    prefix = f"topology-test:{uuid.uuid4().hex[:12]}"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = prefix
    settings.CHANNEL_LAYERS = layers
    yield prefix
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str]
    port: int

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Start it again, on the same port (after ``stop``)."""
        self.process = start_daphne(self.env, self.log, self.port).process


def start_daphne(env: dict[str, str], log: Path, port: int | None = None) -> LiveServer:
    """Start Daphne (the production server) on a free loopback port; wait until it answers."""
    port = port or free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "topology.serve", "-b", "127.0.0.1", "-p", str(port)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log, env, port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/login/", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.stop()
    raise TimeoutError(f"daphne did not answer on port {port}:\n{server.log_tail()}")


@pytest.fixture
def daphne_server(transactional_db, channel_layer_prefix, tmp_path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """Daphne in a subprocess, on the test database and the test's channel layer prefix."""
    from django.db import connection

    shim = tmp_path / "live-settings"
    shim.mkdir()
    (shim / "topology_live_settings.py").write_text(LIVE_SETTINGS_MODULE)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "topology_live_settings",
        "PYTHONPATH": os.pathsep.join([str(shim), str(settings.BASE_DIR)]),
        "TOPOLOGY_LIVE_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "TOPOLOGY_LIVE_CHANNELS_PREFIX": channel_layer_prefix,
        "DEBUG": os.environ.get("DEBUG", "1"),
    }
    server = start_daphne(env, tmp_path / "daphne.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def events_watcher(transactional_db, channel_layer_prefix) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The Docker events watcher in a thread: engine changes reach the database and the group."""
    from topology.inventory.watching import Watcher

    with Watcher().running_in_thread() as watcher:
        yield watcher


# --- Inside containers: a container two daemons deep, websockets as a user ---------------------


@dataclass(frozen=True)
class DeepContainer:
    """A workload in the DinD inside the world's DinD: its daemon is read by exec only."""

    id: str
    name: str


@pytest.fixture(scope="session")
def deep_container(world: World) -> Iterator[DeepContainer]:
    """Seed the workload image two daemons down (``docker save | docker exec -i ... load``) and
    run a workload there; removed at the end (and with the world's DinD, should that fail)."""
    from topology.engine.images import IDLE_COMMAND, WORKLOAD_IMAGE

    outer = world.dind.container.id
    inner = world.inner_dind.id
    down = ["docker", "exec", "-i", outer, "docker", "exec", "-i", inner]
    save = subprocess.Popen(["docker", "save", WORKLOAD_IMAGE], stdout=subprocess.PIPE)
    subprocess.run([*down, "docker", "load"], stdin=save.stdout, check=True, capture_output=True)
    save.wait(timeout=60)
    name = "deep-workload"
    labels = [arg for key, value in MANAGED.items() for arg in ("--label", f"{key}={value}")]
    run = [*down, "docker", "run", "-d", "--name", name, *labels, WORKLOAD_IMAGE, *IDLE_COMMAND]
    container_id = subprocess.run(run, check=True, capture_output=True, text=True).stdout.strip()
    try:
        yield DeepContainer(container_id, name)
    finally:
        subprocess.run([*down, "docker", "rm", "-f", name], capture_output=True)


WS_ORIGIN = (b"origin", b"http://127.0.0.1:8000")
WS_HOST = (b"host", b"127.0.0.1:8000")


def websocket_headers(
    user: Any, origin: tuple[bytes, bytes] = WS_ORIGIN
) -> list[tuple[bytes, bytes]]:
    """Headers of a browser signed in as ``user`` on the site at 127.0.0.1:8000: the Host it
    asks, its Origin and session cookie (the origin check compares the two, scheme and port)."""
    client = Client()
    client.force_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    return [WS_HOST, origin, cookie]


# --- Podman: a service of the test's own, on a private store -----------------------------------


@dataclass
class PodmanEngine:
    """``podman system service`` on a store of its own (nothing else's containers or images);
    ``url`` is its socket where rootless Podman puts it (``$XDG_RUNTIME_DIR/podman/podman.sock``
    under ``runtime_dir``), ``second_url`` a second service of the same store."""

    url: str
    second_url: str
    client: docker.DockerClient
    folder: Path
    runtime_dir: Path


def _start_podman(folder: Path, socket_path: Path, log: Path) -> subprocess.Popen:
    command = [
        "podman",
        "--root",
        str(folder / "root"),
        "--runroot",
        str(folder / "run"),
        "system",
        "service",
        "--time=0",
        f"unix://{socket_path}",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"podman system service did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return process


@pytest.fixture(scope="session")
def podman_engine(docker_client: docker.DockerClient, offline_images: list[str]) -> Iterator[Any]:
    """A Podman engine started here (``make test`` installs podman, crun and conmon), with the
    offline workload image loaded from Docker (``docker save | podman load``, no pull).

    On this VM Podman creates containers but cannot start them (crun cannot set rlimits without
    CAP_SYS_RESOURCE): tests use created containers. Everything goes with the store at the end.
    """
    from topology.engine import images

    if shutil.which("podman") is None:
        pytest.fail("podman is missing: make test installs podman, crun and conmon")
    folder = Path(tempfile.mkdtemp(prefix="topology-podman-"))
    processes = []
    client = None
    try:
        runtime_dir = folder / "xdg-runtime"
        socket_path = runtime_dir / "podman" / "podman.sock"
        socket_path.parent.mkdir(parents=True)
        processes.append(_start_podman(folder, socket_path, folder / "service.log"))
        processes.append(_start_podman(folder, folder / "second.sock", folder / "second.log"))
        client = docker.DockerClient(base_url=f"unix://{socket_path}", version="1.41")
        images.seed_image(docker_client, client, images.WORKLOAD_IMAGE)
        yield PodmanEngine(
            f"unix://{socket_path}", f"unix://{folder}/second.sock", client, folder, runtime_dir
        )
    finally:
        if client is not None:
            for item in client.api.containers(all=True):
                with contextlib.suppress(docker.errors.APIError):
                    client.api.remove_container(item["Id"], force=True, v=True)
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(images.WORKLOAD_IMAGE, force=True)
            client.close()
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _unmount_under(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _unmount_under(folder: Path) -> None:
    """Podman's overlay driver mounts its store on itself: undo that before removing it."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    for point in sorted((line.split()[1] for line in mounts), key=len, reverse=True):
        if point.startswith(f"{folder}/"):
            subprocess.run(["umount", point], capture_output=True, check=False)


# --- Docker CLI contexts, made by the real CLI under a DOCKER_CONFIG of the test's own ----------


def openssl_client_material(folder: Path) -> dict[str, Path]:
    """A CA and a client certificate with its key, made by openssl (PEM files in ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run(
        "req",
        "-x509",
        *curve,
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ca",
    )
    run("req", *curve, "-keyout", "key.pem", "-out", "client.csr", "-subj", "/CN=client")
    run(
        "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", "-out", "cert.pem", "-days", "2",
    )  # fmt: skip
    return {part: folder / f"{part}.pem" for part in ("ca", "cert", "key")}


def docker_context_create(config: Path, name: str, docker: str, description: str = "") -> None:
    """The real CLI, with DOCKER_CONFIG pointing at the test's folder."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is missing")
    command = ["docker", "context", "create", name, "--docker", docker]
    if description:
        command += ["--description", description]
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    env.pop("DOCKER_HOST", None)
    subprocess.run(command, env=env, check=True, capture_output=True)


@pytest.fixture
def cli_contexts(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """Three contexts by the real CLI: the local socket, tcp:// with TLS files, ssh://."""
    config = tmp_path / "docker-config"
    tls = openssl_client_material(tmp_path / "certs")
    docker_context_create(
        config, "local", "host=unix:///var/run/docker.sock", description="this machine"
    )
    docker_context_create(
        config,
        "lab-tls",
        f"host=tcp://127.0.0.1:23760,ca={tls['ca']},cert={tls['cert']},key={tls['key']}",
    )
    docker_context_create(config, "build-box", "host=ssh://ci@build.example:2222")
    return config, tls
