"""A FAKE Docker engine: a tiny HTTP server on a unix socket, for faults a real engine cannot
be made to show (an API version from another era, a daemon that hangs mid-answer, a network
listing of the wrong shape)."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeEngine:
    def __init__(
        self,
        socket_path: Path,
        api_version: str = "1.47",
        hang: float = 0,
        networks: Any = (),
        volumes: Any = None,
    ) -> None:
        self.socket_path = socket_path
        self.api_version = api_version
        self.hang = hang
        self.networks = list(networks) if isinstance(networks, tuple) else networks
        self.volumes = volumes if volumes is not None else {"Volumes": [], "Warnings": None}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def address_string(self) -> str:
                return "fake"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path.endswith("/version"):
                    body: Any = {"ApiVersion": fake.api_version, "Version": "0.0-fake"}
                elif path.endswith("/_ping"):
                    body = "OK"
                elif path.endswith("/info"):
                    if fake.hang:
                        time.sleep(fake.hang)
                    body = {"ID": "FAKE:ENGINE", "Name": "fake", "ServerVersion": "0.0-fake"}
                elif path.endswith("/containers/json"):
                    body = []
                elif path.endswith("/networks"):
                    body = fake.networks
                elif path.endswith("/volumes"):
                    body = fake.volumes
                else:
                    self.send_error(404)
                    return
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _Server(str(socket_path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEngine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.socket_path.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"
