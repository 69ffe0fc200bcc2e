"""Compose health check for the web service: ``GET /healthz`` on this container's Daphne.

Exits 0 when /healthz answers 200 (database, Redis and Docker all answer), 1 otherwise, with one
line saying why. The request names the first of ``ALLOWED_HOSTS`` as its Host, so the check
needs no extra allowed host. Standard library only: it runs in the app image as is.
"""

from __future__ import annotations

import http.client
import os
import sys

PORT = int(os.environ.get("TOPOLOGY_HEALTHCHECK_PORT", "8000"))
TIMEOUT_SECONDS = 10


def host_header(allowed_hosts: str) -> str:
    """A Host value Django accepts: the first allowed host (``.example.com`` means subdomains)."""
    first = next((h.strip() for h in allowed_hosts.split(",") if h.strip()), "localhost")
    if first == "*":
        return "localhost"
    return first.lstrip(".")


def main() -> int:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=TIMEOUT_SECONDS)
    try:
        connection.request(
            "GET", "/healthz", headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS", ""))}
        )
        response = connection.getresponse()
        body = response.read(500).decode(errors="replace")
    except OSError as error:
        print(f"healthz: no answer on port {PORT}: {error}")
        return 1
    finally:
        connection.close()
    if response.status != 200:
        print(f"healthz: {response.status} {body}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
