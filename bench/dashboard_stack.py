"""A throw-away Topology for the dashboard benchmarks, and its cold start as a benchmark.

``Stack`` gives a fresh SQLite file and a channel-layer prefix of its own (on the real Redis),
Daphne and, if asked, the events watcher as subprocesses (as ``make run`` starts them), a user
with a token, and logged-in headless Chromium pages.

Run alone, it measures a cold start: from starting Daphne to a browser showing the first
snapshot.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import ROOT, median, p95, setup_django

from scripts.chromium import CHROMIUM, CHROMIUM_ARGS

USERNAME = "bench"
PASSWORD = f"bench-{uuid.uuid4().hex}"
SETTINGS_MODULE = '''"""The project's settings with a channel prefix of the benchmark's own."""
import os

from topology.settings import *

CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["TOPOLOGY_BENCH_CHANNELS_PREFIX"]
'''

__all__ = ["PASSWORD", "USERNAME", "Stack", "median", "p95", "wait_until"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(page: Any, expression: str, arg: Any = None, timeout: float = 30) -> Any:
    """Poll a JavaScript expression until it is truthy (the page's CSP forbids in-page eval,
    which Playwright's ``wait_for_function`` needs; ``evaluate`` is not affected)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = page.evaluate(expression, arg)
        except PlaywrightError as error:  # the page reloading (see static/topology/boot.js)
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {expression}")
        time.sleep(0.005)


class Stack:
    """Call ``Stack()`` before importing anything from Django: it sets Django up."""

    def __init__(self) -> None:
        self.prefix = f"topology-bench:{uuid.uuid4().hex[:12]}"
        os.environ["TOPOLOGY_BENCH_CHANNELS_PREFIX"] = self.prefix
        os.environ["DJANGO_SETTINGS_MODULE"] = "topology_bench_settings"
        os.environ.setdefault("TOPOLOGY_OFFLINE", "1")
        os.environ.setdefault("TOPOLOGY_LOG_LEVEL", "WARNING")
        self.folder = Path(tempfile.mkdtemp(prefix="topology-bench-dashboard-"))
        (self.folder / "topology_bench_settings.py").write_text(SETTINGS_MODULE)
        sys.path.insert(0, str(self.folder))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(self.folder), str(ROOT)])
        setup_django()  # a fresh SQLite file in DATABASE_URL, migrated
        self.processes: list[subprocess.Popen] = []
        self.url = ""
        self.token = self._make_user()

    def _make_user(self) -> str:
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
        return Token.objects.create(user=user).key

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(args, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def start_server(self) -> str:
        """Daphne on a free loopback port; returns its URL once it answers."""
        import requests

        port = free_port()
        process = self._spawn(
            [sys.executable, "-m", "topology.serve", "-b", "127.0.0.1", "-p", str(port)], "daphne"
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited; see {self.folder / 'daphne.log'}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/login/", timeout=2).status_code == 200:
                    return self.url
            time.sleep(0.05)
        raise TimeoutError("daphne did not answer")

    def start_watcher(self) -> None:
        """``manage.py watch_events``, as ``make run`` starts it."""
        self._spawn([sys.executable, "manage.py", "watch_events"], "watcher")

    @contextlib.contextmanager
    def browser(self) -> Iterator[Any]:
        from playwright.sync_api import sync_playwright

        # Playwright's sync API keeps an idle event loop in this thread; the ORM calls the
        # benchmarks make between page actions are plain sync code.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield browser
            finally:
                browser.close()

    def open_dashboard(self, browser: Any, query: str = "") -> Any:
        """A logged-in page at the dashboard, once its first snapshot is drawn."""
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{self.url}/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/")
        if query:
            page.goto(f"{self.url}/{query}")
        try:
            wait_until(page, "() => window.topology?.timings.some(t => t.paintedAt)", timeout=120)
        except TimeoutError:
            raise RuntimeError(f"the dashboard drew nothing; page errors: {errors}") from None
        return page

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        import redis
        from django.conf import settings

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{self.prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    with Stack() as stack:
        started = time.perf_counter()
        stack.start_server()
        answering = time.perf_counter()
        with stack.browser() as browser:
            opened = time.perf_counter()
            page = stack.open_dashboard(browser)
            shown = time.perf_counter()
            snapshot = page.evaluate("window.topology.timings[0]")
    print(f"daphne answering: {(answering - started) * 1000:.0f} ms after start")
    print(f"login to first snapshot drawn: {(shown - opened) * 1000:.0f} ms")
    print(
        f"first snapshot ({snapshot['nodes']} nodes): received to drawn "
        f"{snapshot['paintedAt'] - snapshot['receivedAt']:.1f} ms"
    )


if __name__ == "__main__":
    main()
