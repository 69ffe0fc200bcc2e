"""Inside containers, in headless Chromium on the real engine, Redis, Daphne, the events watcher
and the stats sampler: the unhealthy mark on the node and the tile that names it; the bars at the
foot of the containers on screen (inside their boxes, none over another) and colouring by CPU;
the details panel's health, sparklines (with the limit) and logs (stream, search, pause); a
terminal in a nested container. Screenshots go to var/test-artifacts/.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import MANAGED, LiveServer, _remove, run_workload, unique
from tests.test_dashboard import (  # noqa: F401  (browser, page_errors: fixtures)
    browser,
    network_changed,
    page_errors,
    wait_for_nodes,
    wait_until,
)
from topology.dashboards.models import Dashboard
from topology.engine.images import WORKLOAD_IMAGE
from topology.inventory import polling
from topology.inventory.models import Host
from topology.inventory.sampling import Sampler
from topology.teams.models import Team

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-2"  # the ``admin_user`` fixture's
FAILING = {
    "test": ["CMD-SHELL", "echo 'db: connection refused'; exit 1"],
    "interval": 500_000_000,
    "retries": 1,
}
# A busy web server, as far as its logs and CPU go (about a third of a core).
BUSY = [
    "sh",
    "-c",
    'i=0; while true; do i=$((i+1)); echo "GET /api/items/$i 200 $((i % 97)) ms"; '
    '[ $((i % 7)) = 0 ] && echo "timeout talking to cache ($i)" >&2; '
    "j=0; while [ $j -lt 3000 ]; do j=$((j+1)); done; done",
]


def login(page: Page, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


@pytest.mark.timeout(600)
def test_health_stats_logs_and_a_terminal_in_the_browser(
    world: Any,
    docker_client: Any,
    cleanup: Any,
    admin_user: Any,
    daphne_server: LiveServer,
    browser: Browser,  # noqa: F811
    page_errors: list[str],  # noqa: F811
    artifacts_dir: Path,
) -> None:
    sick = run_workload(docker_client, cleanup, unique("orders-db"), healthcheck=FAILING)
    busy = docker_client.containers.run(
        WORKLOAD_IMAGE, BUSY, name=unique("web"), labels=MANAGED, detach=True, mem_limit="64m"
    )
    cleanup.add(_remove, busy)
    deadline = time.monotonic() + 30
    while docker_client.api.inspect_container(sick.id)["State"]["Health"]["Status"] != "unhealthy":
        assert time.monotonic() < deadline, "the healthcheck never failed"
        time.sleep(0.3)
    polling.poll_everything(publish=False)
    polling.poll_everything(publish=False)
    team = Team.objects.create(slug="ops", name="Ops", exec_enabled=True)
    Host.objects.update(team=team)
    board = Dashboard.objects.create(
        name="Ops", team=team, tiles=["health", "containers", "daemons"]
    )

    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    page.on(
        "console",
        lambda m: m.type == "error" and not network_changed(m.text) and page_errors.append(m.text),
    )
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    login(page, daphne_server, admin_user.username)
    sick_id, busy_id = f"container:{sick.id}", f"container:{busy.id}"
    nested_id = f"container:{world.c3.id}"

    with Sampler(period=1).running_in_thread() as sampler:
        # The unhealthy mark and the tile that names the container.
        page.goto(f"{daphne_server.url}/?dashboard={board.pk}&node={sick_id}")
        wait_for_nodes(page, [sick_id, busy_id, nested_id])
        mark = page.evaluate(
            "id => { const n = window.topology.cy.getElementById(id);"
            " return {health: n.data('health'), border: n.style('border-style'),"
            " text: n.data('display')}; }",
            sick_id,
        )
        assert mark["health"] == "unhealthy" and mark["border"] == "double"
        assert "UNHEALTHY" in mark["text"]
        tile = page.locator('.tile[data-tile="health"]')
        assert tile.locator(".tile-value").inner_text() == "1"
        assert sick.name in tile.locator(".tile-detail").inner_text()
        assert tile.get_attribute("data-tone") == "bad"
        page.wait_for_selector(".details .probes li.probe-bad")
        probe = page.locator(".details .probe-output").first.inner_text()
        assert probe == "db: connection refused"
        assert "failing" in page.locator(".details .health-summary").inner_text()
        page.evaluate("id => window.topology.view.viewport.centerOn(id)", sick_id)
        time.sleep(1)
        page.screenshot(path=str(artifacts_dir / "insight-unhealthy-mark-and-tile.png"))

        # Filter: unhealthy only.
        page.select_option("#filter-health", "unhealthy")
        wait_until(
            page,
            "([sick, busy]) => { const cy = window.topology.cy;"
            " return !cy.getElementById(sick).hasClass('filtered-out')"
            " && cy.getElementById(busy).hasClass('filtered-out'); }",
            [sick_id, busy_id],
        )
        page.select_option("#filter-health", "")

        # The page watches what is on screen: stats arrive, bars are drawn inside their boxes.
        # (Clearing the filter started an animated fit: stopped first, so the zoom holds.)
        page.evaluate(
            "id => { const cy = window.topology.cy; cy.stop(true, true); cy.zoom(1);"
            " cy.center(cy.getElementById(id)); }",
            busy_id,
        )
        wait_until(page, "id => (window.topology.book.series.get(id) || []).length >= 3", busy_id)
        # A shared engine's traffic (other containers coming and going) may refit the view: the
        # zoom is set again until the bars are drawn at it.
        wait_until(
            page,
            "id => { const cy = window.topology.cy; const node = cy.getElementById(id);"
            " if (Math.abs(cy.zoom() - 1) > 1e-6) { cy.stop(true, true); cy.zoom(1);"
            " cy.center(node); return false; }"
            " return window.topology.meters.drawn.some(bar => bar.id === id); }",
            busy_id,
        )
        bars = page.evaluate(
            """() => window.topology.meters.drawn.map(bar => {
              const node = window.topology.cy.getElementById(bar.id);
              const box = node.renderedBoundingBox({includeLabels: false, includeOverlays: false});
              return {bar, box: {x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2}};
            })"""
        )
        assert bars
        for item in bars:
            bar, box = item["bar"], item["box"]
            assert (
                box["x1"] <= bar["x1"] < bar["x2"] <= box["x2"]
                and box["y1"] <= bar["y1"] < bar["y2"] <= box["y2"]
            ), item
        rects = [item["bar"] for item in bars]
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                overlap = (
                    a["x1"] < b["x2"]
                    and b["x1"] < a["x2"]
                    and a["y1"] < b["y2"]
                    and b["y1"] < a["y2"]
                )
                assert not overlap, (a, b)
        watched = page.evaluate("() => window.topology.watch.sent")
        assert busy_id in watched
        assert sampler.counters.by_container.get(busy.id, 0) >= 3

        # Colour by CPU: the busy container turns warm, the legend says what colours mean.
        page.select_option("#colour-by", "cpu")
        wait_until(page, "id => window.topology.cy.getElementById(id).data('heat') === 1", busy_id)
        assert page.locator("#legend-heat").is_visible()
        assert "of one core" in page.locator("#legend-heat").inner_text()
        page.screenshot(path=str(artifacts_dir / "insight-bars-and-cpu-colours.png"))
        page.select_option("#colour-by", "")
        page.evaluate(
            "id => { const cy = window.topology.cy; cy.stop(true, true); cy.zoom(2.2);"
            " cy.center(cy.getElementById(id)); }",
            busy_id,
        )
        time.sleep(1)
        box = page.locator("#graph").bounding_box()
        assert box is not None
        page.screenshot(
            path=str(artifacts_dir / "insight-bars-close-up.png"),
            clip={
                "x": box["x"] + box["width"] / 2 - 450,
                "y": box["y"] + box["height"] / 2 - 120,
                "width": 900,
                "height": 240,
            },
        )

        # The details panel: sparklines with the limit, then the logs.
        page.evaluate("id => window.topology.cy.getElementById(id).emit('tap')", busy_id)
        page.wait_for_selector(".details .spark-cpu polyline")
        page.wait_for_selector(".details .spark-mem .spark-limit", state="attached")
        caption = page.locator(".details .spark-figure.spark-mem figcaption").inner_text()
        assert "limit 64 MiB" in caption
        page.click(".details .logs button:has-text('Stream logs')")
        page.wait_for_selector(".details .log-line.log-stderr")
        wait_until(page, "() => document.querySelectorAll('.details .log-line').length >= 30")
        texts = page.locator(".details .log-line .log-text").all_inner_texts()
        assert any(text.startswith("GET /api/items/") for text in texts)
        page.fill(".details .log-controls input[type=search]", "timeout")
        wait_until(
            page,
            "() => [...document.querySelectorAll('.details .log-text')]"
            ".every(t => t.textContent.includes('timeout'))",
        )
        page.click(".details .logs button:has-text('Pause')")
        assert "paused" in page.locator(".details .logs-status").inner_text()
        page.click(".details .logs button:has-text('Resume')")
        page.fill(".details .log-controls input[type=search]", "")
        time.sleep(2)
        page.screenshot(path=str(artifacts_dir / "insight-details-sparklines-and-logs.png"))
        page.click(".details .logs button:has-text('Stop')")

    # A terminal in a nested container.
    terminal = browser.new_context(viewport={"width": 1200, "height": 700}).new_page()
    terminal.on("pageerror", lambda error: page_errors.append(str(error)))
    login(terminal, daphne_server, admin_user.username)
    terminal.goto(f"{daphne_server.url}/containers/{world.c3.id}/terminal/")
    terminal.wait_for_selector('#terminal-status[data-state="live"]', timeout=60_000)
    assert "as powerful as root" in terminal.locator(".terminal-warning").inner_text()
    terminal.click("#terminal")
    terminal.keyboard.type("echo hello from $(hostname) in a nested daemon\n")
    wait_until(
        terminal,
        """needle => { const buffer = window.topologyTerminal.term.buffer.active; let text = '';
          for (let i = 0; i < buffer.length; i++) {
            text += buffer.getLine(i).translateToString(true) + '\\n';
          }
          return text.includes(needle); }""",
        f"hello from {world.c3.id[:12]} in a nested daemon",
    )
    terminal.screenshot(path=str(artifacts_dir / "insight-terminal-nested.png"))
    terminal.keyboard.type("exit\n")
    terminal.wait_for_selector('#terminal-status[data-state="closed"]')
    assert not page_errors, page_errors
