"""A FAKE Docker engine: a tiny HTTP server on a unix socket, for faults a real engine cannot
be made to show (an API version from another era, a daemon that hangs mid-answer, answers of the
wrong shape, an events stream that ends the moment it opens)."""

from __future__ import annotations

import collections
import json
import queue
import re
import socketserver
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """On a loopback port: plain, or TLS with client certificates (``context``)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: Any, context: ssl.SSLContext | None) -> None:
        self.context = context
        super().__init__(("127.0.0.1", 0), handler)

    def get_request(self) -> tuple[Any, Any]:
        raw, address = self.socket.accept()
        raw.settimeout(30)
        if self.context is None:
            return raw, address
        wrapped = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gives up mid-handshake is no news


class FakeEngine:
    """``hang``: seconds ``/info`` takes (``hang_all``: every request). ``containers``: what
    ``/containers/json`` answers, any JSON (an object instead of a list, say); ``networks``,
    ``volumes`` and ``info`` the same for theirs, ``inspect`` (by container ID) for
    ``/containers/<id>/json``. ``events``: ``"hold"`` keeps the stream open and silent, ``"end"``
    ends it at once, ``"garbage"`` sends lines that are no events and holds, ``"refuse"``
    answers it with a 500. ``requests`` counts
    the requests by path. With ``tls`` (a ``tests.tls_material.Authority``) it listens on a
    loopback port, TLS only, for clients of that authority; with ``tcp`` on a loopback port in
    plain HTTP; else on ``socket_path``."""

    def __init__(
        self,
        socket_path: Path,
        api_version: str = "1.47",
        hang: float = 0,
        *,
        engine_id: str = "FAKE:ENGINE",
        name: str = "fake",
        containers: Any = (),
        events: str = "hold",
        hang_all: bool = False,
        tls: Any = None,
        tcp: bool = False,
        networks: Any = (),
        volumes: Any = None,
        info: Any = None,
        inspect: dict[str, Any] | None = None,
        images: Any = (),
    ) -> None:
        self.socket_path = socket_path
        self.api_version = api_version
        self.hang = hang
        self.hang_all = hang_all
        self.engine_id = engine_id
        self.name = name
        self.containers = list(containers) if isinstance(containers, tuple) else containers
        self.events = events
        self.requests: collections.Counter[str] = collections.Counter()
        self.closing = threading.Event()
        self.networks = list(networks) if isinstance(networks, tuple) else networks
        self.volumes = volumes if volumes is not None else {"Volumes": [], "Warnings": None}
        self.info = info
        self.event_queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.inspect = inspect or {}
        self.images = list(images) if isinstance(images, tuple) else images
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def address_string(self) -> str:
                return "fake"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                fake.requests[re.sub(r"^/v[0-9.]+(?=/)", "", path)] += 1
                if fake.hang_all and fake.hang:
                    fake.closing.wait(fake.hang)
                if path.endswith("/version"):
                    body: Any = {"ApiVersion": fake.api_version, "Version": "0.0-fake"}
                elif path.endswith("/_ping"):
                    body = "OK"
                elif path.endswith("/info"):
                    if fake.hang and not fake.hang_all:
                        time.sleep(fake.hang)
                    body = {"ID": fake.engine_id, "Name": fake.name, "ServerVersion": "0.0-fake"}
                    if fake.info is not None:
                        body = fake.info
                elif path.endswith("/containers/json"):
                    body = fake.containers
                elif path.endswith("/events"):
                    self._events()
                    return
                elif (found := re.search(r"/containers/([^/]+)/json$", path)) and (
                    found.group(1) in fake.inspect
                ):
                    body = fake.inspect[found.group(1)]
                elif path.endswith("/networks"):
                    body = fake.networks
                elif path.endswith("/volumes"):
                    body = fake.volumes
                elif path.endswith("/images/json"):
                    body = fake.images
                else:
                    self.send_error(404)
                    return
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _events(self) -> None:
                """A chunked stream, as dockerd sends it (docker-py reads a plain body whole)."""
                if fake.events == "refuse":  # a proxy that does not pass the stream
                    self.send_error(500)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                if fake.events == "garbage":
                    for line in ("[1, 2]", '"an event"', '{"timeNano": "soon", "id": {"a": 1}}'):
                        self._chunk(line.encode() + b"\n")
                try:
                    while fake.events in ("hold", "garbage") and not fake.closing.is_set():
                        try:
                            event = fake.event_queue.get(timeout=0.1)
                        except queue.Empty:
                            continue
                        self._chunk(json.dumps(event).encode() + b"\n")
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client went away

        if tls is not None:
            self.server: Any = _TCPServer(Handler, _server_context(tls, socket_path.parent))
        elif tcp:
            self.server = _TCPServer(Handler, None)
        else:
            self.server = _Server(str(socket_path), Handler)
        self.on_loopback = tls is not None or tcp
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def emit(self, action: str, container_id: str) -> None:
        """A container event on the open events stream, as a real engine writes it."""
        self.event_queue.put(
            {
                "Type": "container",
                "Action": action,
                "Actor": {"ID": container_id, "Attributes": {}},
                "id": container_id,
                "time": int(time.time()),
                "timeNano": time.time_ns(),
            }
        )

    def __enter__(self) -> FakeEngine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        if not self.on_loopback:
            self.socket_path.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        if self.on_loopback:
            return f"tcp://127.0.0.1:{self.server.server_address[1]}"
        return f"unix://{self.socket_path}"


def _server_context(authority: Any, folder: Path) -> ssl.SSLContext:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "fake-ca.pem": authority.ca.cert,
        "fake-server.pem": authority.server.cert,
        "fake-server-key.pem": authority.server.key,
    }.items():
        (folder / name).write_text(text)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=folder / "fake-ca.pem")
    context.load_cert_chain(folder / "fake-server.pem", folder / "fake-server-key.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def listed(hex_id: str, name: str) -> dict[str, Any]:
    """A ``/containers/json`` item as a real engine writes it."""
    return {
        "Id": hex_id,
        "Names": [f"/{name}"],
        "Image": "topology/workload:offline",
        "ImageID": "sha256:" + "f" * 64,
        "State": "exited",
        "Created": 1_764_000_000,
        "Labels": {"topology.managed": "true"},
        "Mounts": [],
        "Ports": [],
        "NetworkSettings": {"Networks": {}},
        "HostConfig": {"NetworkMode": "none"},
    }


def inspected(hex_id: str, name: str) -> dict[str, Any]:
    """The ``/containers/<id>/json`` of ``listed(hex_id, name)``, as a real engine writes it."""
    return {
        "Id": hex_id,
        "Name": f"/{name}",
        "Created": "2025-11-24T16:00:00.000000000Z",
        "Image": "sha256:" + "f" * 64,
        "State": {"Status": "exited", "Running": False, "StartedAt": "0001-01-01T00:00:00Z"},
        "Config": {"Image": "topology/workload:offline", "Labels": {"topology.managed": "true"}},
        "HostConfig": {"Privileged": False, "NetworkMode": "none"},
        "Mounts": [],
        "NetworkSettings": {"Networks": {}},
    }
