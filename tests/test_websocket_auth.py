"""Who may open a websocket: in a real browser, a page of another port of this machine cannot
read the map with the visitor's session (cross-site websocket hijacking). The origin rules
themselves, case by case, are in ``test_consumers``."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import LiveServer, free_port
from tests.test_dashboard import browser, dashboard, page_errors  # noqa: F401 (the fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ATTACKER_PAGE = """<!doctype html><title>waiting</title><script>
const socket = new WebSocket("ws://127.0.0.1:{port}/ws/topology/");
socket.onmessage = (event) => {{ document.title = "read " + event.data.slice(0, 60); }};
socket.onclose = (event) => {{
  if (!document.title.startsWith("read")) document.title = "closed " + event.code;
}};
</script>"""


@pytest.fixture
def attacker_site(daphne_server: LiveServer) -> Iterator[str]:
    """A page on another port of 127.0.0.1 that opens the map's websocket."""
    page = ATTACKER_PAGE.format(port=daphne_server.port).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_port_cannot_read_the_map_with_the_visitors_session(
    dashboard: Page,  # noqa: F811 (the fixture)
    attacker_site: str,
) -> None:
    """The visitor is logged in (``dashboard``: the map is live in that tab). The same browser
    opens a page on another port: its websocket to the map carries the session cookie (cookies
    ignore ports), and is refused for its origin before anything is read."""
    assert dashboard.evaluate("() => window.topology.store.version") is not None
    page = dashboard.context.new_page()
    page.goto(attacker_site)
    deadline = time.monotonic() + 30
    while page.title() == "waiting" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert page.title().startswith("closed"), page.title()
