"""The live dashboard in headless Chromium: Daphne in a subprocess, the events watcher in a thread,
the real Docker engine and Redis. Assertions read the rendered Cytoscape model, not just text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from scripts.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import Cleanup, LiveServer, World, container_info, run_workload, unique
from topology.dashboards.models import Dashboard
from topology.engine.types import ContainerInfo, DaemonSnapshot, EngineInfo, Mount, Route
from topology.inventory import broadcast, polling, services
from topology.inventory.services import Place
from topology.teams.models import Membership, Team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"  # the ``user`` fixture's
WAIT_MS = 90_000  # generous: the engine is shared and the machine may be busy

NODE_FACTS = """ids => Object.fromEntries(ids.map(id => {
  const node = window.topology.cy.getElementById(id);
  if (node.empty()) return [id, null];
  const box = node.boundingBox({includeLabels: false});
  return [id, {
    parent: node.parent().nonempty() ? node.parent().id() : null,
    isBox: node.isParent(),
    visible: node.visible(),
    position: node.position(),
    box: {x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2},
    data: node.data(),
  }];
}))"""


@pytest.fixture
def browser(monkeypatch) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    """Headless Chromium. Playwright's sync API keeps an idle event loop in this thread, which
    Django would take for async code: the ORM calls the tests make here are plain sync code."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def dashboard(user: Any, daphne_server: LiveServer, browser: Browser, page_errors) -> Page:
    """A logged-in dashboard page; console errors (CSP violations included) are collected."""
    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    page.on(
        "console",
        lambda m: m.type == "error" and not network_changed(m.text) and page_errors.append(m.text),
    )
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{daphne_server.url}/")
    page.wait_for_url("**/login/**")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{daphne_server.url}/")
    try:
        wait_until(page, "() => window.topology && window.topology.store.version !== null")
    except TimeoutError as error:
        raise AssertionError(
            f"no graph in {page.url} ({page.title()!r}); page errors: {page_errors};"
            f" server log:\n{daphne_server.log_tail()}"
        ) from error
    return page


def wait_until(page: Page, expression: str, arg: Any = None, timeout_ms: int = WAIT_MS) -> None:
    """Poll a JavaScript predicate. (Playwright's ``wait_for_function`` compiles it inside the
    page, which the dashboard's Content-Security-Policy forbids; ``evaluate`` does not.)"""
    deadline = time.monotonic() + timeout_ms / 1000
    while not _evaluate(page, expression, arg):
        if time.monotonic() > deadline:
            state = page.evaluate(
                "() => window.topology && {connection: window.topology.connection.state,"
                " version: window.topology.store.version, nodes: window.topology.store.nodes.size,"
                " timings: window.topology.timings.slice(-5)}"
            )
            raise TimeoutError(f"still false after {timeout_ms} ms: {expression}; page: {state}")
        time.sleep(0.05)


def _evaluate(page: Page, expression: str, arg: Any) -> Any:
    """``page.evaluate``, or None while the page is (re)loading."""
    try:
        return page.evaluate(expression, arg)
    except PlaywrightError as error:
        if "context was destroyed" in str(error) or "navigat" in str(error):
            return None
        raise


def network_changed(message: str) -> bool:
    """Chromium aborts requests and sockets when the machine's network changes, as it does
    whenever Docker (tests elsewhere included) adds or removes a container's interface."""
    return "ERR_NETWORK_CHANGED" in message or "WebSocket connection to" in message


def facts(page: Page, *ids: str) -> dict[str, Any]:
    return page.evaluate(NODE_FACTS, list(ids))


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        outer["x1"] <= inner["x1"]
        and inner["x2"] <= outer["x2"]
        and outer["y1"] <= inner["y1"]
        and inner["y2"] <= outer["y2"]
    )


def wait_for_nodes(page: Page, ids: list[str]) -> None:
    wait_until(
        page,
        # (window.topology is missing for a moment when boot.js reloads a page whose scripts
        # were cut off by a network change)
        "ids => window.topology"
        " && ids.every(id => window.topology.cy.getElementById(id).nonempty())",
        ids,
    )


def pretend_container(hex_id: str, name: str, labels: dict, **changes: Any) -> ContainerInfo:
    """A plain running container as an engine lists it; ``changes`` override fields."""
    return container_info(hex_id, name, labels=labels, created=timezone.now(), **changes)


def pretend_engine(
    host: str, engine_id: str, *containers: tuple[str, str, dict] | ContainerInfo
) -> services.ChangeSet:
    """What an engine would report, reconciled the real way (for tests that need no Docker);
    returns the change, for tests to publish to the open pages."""
    infos = tuple(
        item if isinstance(item, ContainerInfo) else pretend_container(*item) for item in containers
    )
    info = EngineInfo(engine_id, "pretend-engine", "27.0.0", "1.47", "Debian GNU/Linux 12")
    snapshot = DaemonSnapshot(Route(url=f"unix:///nonexistent/{engine_id}.sock"), info, infos)
    return services.reconcile(snapshot, Place(host_name=host), publish=False)  # tests publish


@pytest.mark.docker
def test_live_map_nesting_updates_and_filters(
    world: World,
    docker_client: Any,
    events_watcher: Any,
    dashboard: Page,
    page_errors: list[str],
    artifacts_dir: Path,
) -> None:
    polling.poll_everything()  # everything once (the watcher leaves exec-read daemons to polls)
    page = dashboard
    host_daemon = f"daemon:{docker_client.info()['ID']}"
    nested_daemon = f"daemon:{world.dind.client.info()['ID']}"
    c1, c2, c3, c4 = (f"container:{c.id}" for c in (world.c1, world.c2, world.c3, world.c4))
    dind, dood = f"container:{world.dind.container.id}", f"container:{world.dood.id}"
    wait_for_nodes(page, [host_daemon, nested_daemon, c1, c2, c3, c4, dind, dood])

    seen = facts(page, host_daemon, nested_daemon, dind, c1, c2, c3, c4)
    assert seen[host_daemon]["isBox"] and seen[host_daemon]["parent"].startswith("host:")
    for child in (c1, c2, dind):
        assert seen[child]["parent"] == host_daemon
        assert inside(seen[child]["box"], seen[host_daemon]["box"])
    assert seen[dind]["isBox"] and seen[dind]["data"]["role"] == "dind"
    assert seen[nested_daemon]["parent"] == dind and seen[nested_daemon]["isBox"]
    assert inside(seen[nested_daemon]["box"], seen[dind]["box"])
    for child in (c3, c4):
        assert seen[child]["parent"] == nested_daemon and seen[child]["visible"]
        assert inside(seen[child]["box"], seen[nested_daemon]["box"])
    socket_edge = f"socket:{world.dood.id}->{docker_client.info()['ID']}"
    # The DooD edge is drawn to the daemon's socket, a node inside the daemon's box.
    edge = page.evaluate(
        "id => { const e = window.topology.cy.getElementById(id); return e.nonempty() &&"
        " [e.source().id(), e.data('daemon'), e.target().parent().id(), e.data('kind')] }",
        socket_edge,
    )
    assert edge == [dood, host_daemon, host_daemon, "socket"]

    # A container started on the host engine appears without a reload, next to its siblings,
    # and nothing already on screen moves.
    page.evaluate("window.__sameDocument = true")
    undo = Cleanup()
    try:
        fresh = run_workload(docker_client, undo, unique("live"))
        fresh_id = f"container:{fresh.id}"
        wait_for_nodes(page, [fresh_id])
        after = facts(page, fresh_id, host_daemon, c1, c2)
        assert after[fresh_id]["parent"] == host_daemon
        assert inside(after[fresh_id]["box"], after[host_daemon]["box"])
        assert after[c1]["position"] == seen[c1]["position"]
        assert after[c2]["position"] == seen[c2]["position"]
        page.screenshot(path=str(artifacts_dir / "dashboard.png"))

        fresh.stop(timeout=1)
        wait_until(
            page, "id => window.topology.cy.getElementById(id).data('state') === 'exited'", fresh_id
        )
        assert page.evaluate("window.__sameDocument") is True
    finally:
        undo.run()

    # Filter by role: only DinD containers, inside the boxes that hold them; kept in the URL.
    page.select_option("#filter-role", "dind")
    wait_until(page, "() => new URLSearchParams(location.search).get('role') === 'dind'")
    inner_dind = f"container:{world.inner_dind.id}"
    filtered = facts(page, dind, inner_dind, c1, c3)
    assert filtered[dind]["visible"] and filtered[inner_dind]["visible"]
    assert not filtered[c1]["visible"] and not filtered[c3]["visible"]
    visible_roles = page.evaluate(
        "window.topology.cy.nodes(':visible').filter(n => n.data('kind') === 'container')"
        ".map(n => n.data('role'))"
    )
    assert visible_roles and set(visible_roles) == {"dind"}
    page.screenshot(path=str(artifacts_dir / "dashboard-role-dind.png"))

    shared = page.context.new_page()
    shared.goto(page.url)
    wait_until(shared, "() => window.topology && window.topology.store.version !== null")
    wait_for_nodes(shared, [dind, c1])
    assert shared.input_value("#filter-role") == "dind"
    again = facts(shared, dind, c1)
    assert again[dind]["visible"] and not again[c1]["visible"]
    assert page_errors == []


def test_offline_keeps_the_graph_marked_stale_and_reconnects(
    daphne_server: LiveServer, dashboard: Page, page_errors: list[str]
) -> None:
    pretend_engine("stale-host", "TEST:STALE:1", ("d" * 64, "survivor", {}))
    page = dashboard
    page.reload()
    wait_for_nodes(page, [f"container:{'d' * 64}"])
    page.wait_for_selector('#connection[data-state="live"]')

    daphne_server.stop()
    page.wait_for_selector(
        '#connection[data-state="reconnecting"], #connection[data-state="offline"]'
    )
    assert page.is_visible("#stale-banner")
    assert "stale" in page.get_attribute(".graph-area", "class")
    still_drawn = "id => window.topology.cy.getElementById(id).visible()"
    assert page.evaluate(still_drawn, f"container:{'d' * 64}")

    daphne_server.restart()
    page.wait_for_selector('#connection[data-state="live"]', timeout=WAIT_MS)
    assert not page.is_visible("#stale-banner")
    assert "stale" not in page.get_attribute(".graph-area", "class")
    # The browser reports each refused reconnection attempt; anything else is a fault.
    assert [e for e in page_errors if "ERR_CONNECTION_REFUSED" not in e] == []


def test_daemon_text_is_shown_as_text(dashboard: Page, page_errors: list[str]) -> None:
    attack = '<img src=x onerror="window.__pwned = 1">'
    pretend_engine(
        "<b>host</b>",
        "TEST:ESCAPE:1",
        ("e" * 64, attack, {attack: "<script>window.__pwned = 2</script>"}),
    )
    page = dashboard
    page.reload()
    node_id = f"container:{'e' * 64}"
    wait_for_nodes(page, [node_id])
    page.fill("#search", "onerror")
    wait_until(page, "() => new URLSearchParams(location.search).get('q') === 'onerror'")
    page.evaluate("id => window.topology.cy.getElementById(id).emit('tap')", node_id)
    page.wait_for_selector("#details:not([hidden])")
    assert page.text_content("#details-title") == attack
    assert attack in page.text_content("#details-body")
    assert "<script>window.__pwned = 2</script>" in page.text_content("#details-body")
    assert page.locator("#details img:not(#details-icon)").count() == 0
    assert page.locator("#details script").count() == 0
    options = page.eval_on_selector_all("#filter-host option", "os => os.map(o => o.textContent)")
    assert "<b>host</b>" in options
    assert page.evaluate("window.__pwned") is None
    assert page_errors == []


def test_exports(dashboard: Page, tmp_path: Path) -> None:
    pretend_engine("export-host", "TEST:EXPORT:1", ("f" * 64, "exported", {}))
    page = dashboard
    page.reload()
    wait_for_nodes(page, [f"container:{'f' * 64}"])
    contents = {}
    for kind in ("png", "svg", "json", "dot"):
        page.click("#export-button")
        with page.expect_download() as download:
            page.click(f"[data-export={kind}]")
        target = tmp_path / download.value.suggested_filename
        download.value.save_as(target)
        assert target.suffix == f".{kind}"
        contents[kind] = target.read_bytes()
    assert contents["png"].startswith(b"\x89PNG")
    assert b"<svg" in contents["svg"][:500]
    graph = json.loads(contents["json"])
    assert f"container:{'f' * 64}" in {node["id"] for node in graph["nodes"]}
    assert contents["dot"].startswith(b"digraph topology {")
    assert b"exported" in contents["dot"]


# --- Saved dashboards on the graph page: the wall screen, tiles, pinned positions -------------

FITS = """() => {
  const cy = window.topology.cy;
  const box = cy.nodes(':visible').renderedBoundingBox({includeLabels: false});
  return box.w > 0 && box.x1 >= -1 && box.y1 >= -1 && box.x2 <= cy.width() + 1
    && box.y2 <= cy.height() + 1 && cy.width() === document.getElementById('graph').clientWidth;
}"""


def tile_text(page: Page, tile: str) -> str:
    return page.text_content(f'[data-tile="{tile}"]') or ""


def publish(changes: services.ChangeSet) -> bool:
    """Publish a delta the way a worker does: from a thread without Playwright's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(broadcast.publish, changes).result()


def team_dashboard(member: Any, role: str, **fields: Any) -> Dashboard:
    team = Team.objects.create(slug=unique("team")[-20:], name="Ops")
    Membership.objects.create(team=team, user=member, role=role)
    return Dashboard.objects.create(name="Wall", team=team, **fields)


def test_kiosk_fits_shows_tiles_and_reconnects_by_itself(
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,
    page_errors: list[str],
    artifacts_dir: Path,
) -> None:
    first, second, third = "a" * 64, "b" * 64, "c" * 64
    pretend_engine("wall-host", "TEST:KIOSK:1", (first, "web-1", {}), (second, "web-2", {}))
    wall = team_dashboard(user, "viewer", tiles=["daemons", "containers", "roles", "last_change"])
    page = dashboard
    page.goto(f"{daphne_server.url}/dashboards/{wall.pk}/kiosk/")
    wait_until(page, "() => window.topology && window.topology.store.version !== null")
    wait_for_nodes(page, [f"container:{first}", f"container:{second}"])
    page.wait_for_selector('#connection[data-state="live"][data-stale="false"]')

    # No chrome; the graph fills the window, with large labels; the tiles count what is shown.
    for chrome in (".topbar", "#filters", ".toolbar", "#legend", "#demo-panel", "#details"):
        assert page.locator(chrome).count() == 0, chrome
    assert page.evaluate(
        "() => document.documentElement.scrollHeight <= innerHeight"
        " && document.documentElement.scrollWidth <= innerWidth"
    )
    wait_until(page, FITS)
    font = page.evaluate(
        "id => parseFloat(window.topology.cy.getElementById(id).style('font-size'))",
        f"container:{first}",
    )
    assert font > 11
    wait_until(
        page,
        "() => document.querySelector('[data-tile=containers] .tile-value').textContent === '2'",
    )
    assert "2 running" in tile_text(page, "containers")
    assert tile_text(page, "daemons").startswith("Daemons1 up")
    assert "0 DinD · 0 DooD" in tile_text(page, "roles")
    assert ":" in page.text_content('[data-tile="last_change"] .tile-value')
    assert "live · updated" in page.text_content("#connection-text")

    page.set_viewport_size({"width": 900, "height": 640})
    wait_until(page, FITS)
    page.screenshot(path=str(artifacts_dir / "kiosk.png"))
    page.evaluate("window.__sameDocument = true")

    # The server goes away: the badge turns into a warning and the page keeps retrying.
    daphne_server.stop()
    page.wait_for_selector('#connection[data-stale="true"]')
    assert "disconnected" in page.text_content("#connection-text")
    page.screenshot(path=str(artifacts_dir / "kiosk-disconnected.png"))
    daphne_server.restart()
    page.wait_for_selector('#connection[data-state="live"][data-stale="false"]', timeout=WAIT_MS)

    # A change made after the restart arrives live; the graph refits around it.
    changes = pretend_engine(
        "wall-host",
        "TEST:KIOSK:1",
        (first, "web-1", {}),
        (second, "web-2", {}),
        (third, "web-3", {}),
    )
    assert publish(changes)
    wait_for_nodes(page, [f"container:{third}"])
    wait_until(
        page,
        "() => document.querySelector('[data-tile=containers] .tile-value').textContent === '3'",
    )
    wait_until(page, FITS)
    assert page.evaluate("window.__sameDocument") is True
    assert [e for e in page_errors if "ERR_CONNECTION_REFUSED" not in e] == []


@pytest.fixture
def quick_heartbeats(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Daphne (started after this) sends a heartbeat every second."""
    monkeypatch.setenv("TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS", "1")


def test_a_wall_screen_with_pongs_but_no_news_says_stale_and_reconnects(
    quick_heartbeats: None,
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,
    page_errors: list[str],
    artifacts_dir: Path,
) -> None:
    """Between the page and Daphne sits a relay that, once muted, drops the server's snapshots,
    deltas and heartbeats and answers pongs itself (a link that proves only the socket): the badge
    turns to "stale" after three heartbeats, then the page opens a new link and is live again."""
    pretend_engine("stale-host", "TEST:STALE:1", ("d" * 64, "web-1", {}))
    wall = team_dashboard(user, "viewer", tiles=["containers"])
    page = dashboard
    links: list[Any] = []
    muted = {"on": False}
    seen: list[str] = []

    def relay(ws: Any) -> None:
        server = ws.connect_to_server()
        links.append(ws)

        def from_server(message: str | bytes) -> None:
            kind = json.loads(message).get("type") if isinstance(message, str) else None
            seen.append(str(kind))
            if not (muted["on"] and ws is links[0]):
                ws.send(message)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r".*/ws/topology/(\?.*)?$"), relay)
    page.goto(f"{daphne_server.url}/dashboards/{wall.pk}/kiosk/")
    page.wait_for_selector('#connection[data-state="live"][data-stale="false"]', timeout=WAIT_MS)
    page.wait_for_timeout(2500)
    assert "heartbeat" in seen
    assert page.locator('#connection[data-stale="false"]').count() == 1  # heartbeats keep it live

    muted["on"] = True
    deadline = time.monotonic() + 30
    while not page.text_content("#connection-text").startswith("stale · no update for"):
        assert time.monotonic() < deadline, page.text_content("#connection-text")
        assert len(links) == 1, "the page reconnected before it said stale"
        links[0].send(json.dumps({"type": "pong"}))  # the socket answers, the picture is old
        page.wait_for_timeout(100)
    assert page.locator('#connection[data-stale="true"]').count() == 1
    page.screenshot(path=str(artifacts_dir / "kiosk-stale.png"))
    deadline = time.monotonic() + 30
    while len(links) < 2:
        assert time.monotonic() < deadline, "the page never opened a new link"
        page.wait_for_timeout(200)
    page.wait_for_selector('#connection[data-state="live"][data-stale="false"]', timeout=WAIT_MS)
    assert [e for e in page_errors if "ERR_CONNECTION_REFUSED" not in e] == []


def test_an_operator_of_two_teams_launches_a_demo_for_the_one_chosen(
    private_broker: str,
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,
    page_errors: list[str],
) -> None:
    import redis

    from topology.demos.models import Demo
    from topology.teams.models import Membership, Team

    for slug in ("alpha", "beta"):
        team = Team.objects.create(slug=slug, name=slug.title())
        Membership.objects.create(team=team, user=user, role="operator")
    page = dashboard
    page.goto(f"{daphne_server.url}/demos/")
    page.select_option(".launchers .launch-team", "beta")
    page.click("button.launch[data-kind=dood]")
    page.wait_for_selector(".demo-list li[data-status=starting]")
    demo = Demo.objects.get()
    assert demo.kind == "dood" and demo.team.slug == "beta" and demo.owner == user
    assert page.locator(".demo-list li .delete").is_visible()
    broker = redis.Redis.from_url(private_broker)
    queued = 0
    deadline = time.monotonic() + WAIT_MS / 1000
    while queued == 0 and time.monotonic() < deadline:  # the row can show before the send
        queued = broker.llen("launch")
        time.sleep(0.05)
    assert queued == 1  # sent to the throw-away broker, and never run
    assert page_errors == []


def test_saved_positions_are_applied_and_saved_from_the_page(
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,
    browser: Browser,
    page_errors: list[str],
    artifacts_dir: Path,
) -> None:
    pinned_id, free_id = f"container:{'1' * 64}", f"container:{'2' * 64}"
    pretend_engine("pin-host", "TEST:PIN:1", ("1" * 64, "pinned", {}), ("2" * 64, "free", {}))
    wall = team_dashboard(
        user, "admin", positions={pinned_id: {"x": 2400, "y": 1300}}, tiles=["containers"]
    )
    page = dashboard
    page.goto(f"{daphne_server.url}/dashboards/{wall.pk}/")
    wait_for_nodes(page, [pinned_id, free_id])
    wait_until(
        page,
        "() => document.querySelector('[data-tile=containers] .tile-value').textContent === '2'",
    )
    seen = facts(page, pinned_id, free_id)
    assert seen[pinned_id]["position"] == {"x": 2400, "y": 1300}
    assert seen[free_id]["position"] != {"x": 2400, "y": 1300}

    # A team admin drags a node and saves: every leaf's place is pinned.
    page.wait_for_selector("#save-positions")
    start = page.evaluate(
        """id => {
          const at = window.topology.cy.getElementById(id).renderedPosition();
          const graph = document.getElementById('graph').getBoundingClientRect();
          return {x: graph.left + at.x, y: graph.top + at.y};
        }""",
        free_id,
    )
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(start["x"] + 60, start["y"] + 90, steps=8)
    page.mouse.up()
    moved = facts(page, free_id)[free_id]["position"]
    assert moved != seen[free_id]["position"]
    assert page.get_attribute("#save-positions", "class").find("unsaved") >= 0
    page.click("#save-positions")
    page.wait_for_selector('#positions-status[data-tone="good"]')
    page.screenshot(path=str(artifacts_dir / "dashboard-positions.png"))
    wall.refresh_from_db()
    assert wall.positions[pinned_id] == {"x": 2400, "y": 1300}
    assert wall.positions[free_id] == {"x": round(moved["x"]), "y": round(moved["y"])}

    # A viewer of the team sees both pinned (locked), and has no button to save.
    viewer = get_user_model().objects.create_user("wall-viewer", password=PASSWORD)
    Membership.objects.create(team=wall.team, user=viewer, role="viewer")
    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    other.on("pageerror", lambda error: page_errors.append(str(error)))
    other.goto(f"{daphne_server.url}/login/?next=/dashboards/{wall.pk}/")
    other.fill("#id_username", "wall-viewer")
    other.fill("#id_password", PASSWORD)
    other.click("button[type=submit]")
    wait_until(other, "() => window.topology && window.topology.store.version !== null")
    wait_for_nodes(other, [pinned_id, free_id])
    assert other.locator("#save-positions").count() == 0
    shown = facts(other, pinned_id, free_id)
    assert shown[pinned_id]["position"] == {"x": 2400, "y": 1300}
    assert shown[free_id]["position"] == wall.positions[free_id]
    locked = "ids => ids.map(id => window.topology.cy.getElementById(id).locked())"
    assert other.evaluate(locked, [pinned_id, free_id]) == [True, True]
    assert page.evaluate(locked, [pinned_id, free_id]) == [False, False]
    assert page_errors == []


# --- A dashboard's saved filters are the view's scope -----------------------------------------

SHOWN = "ids => ids.map(id => window.topology.cy.getElementById(id).visible())"
DRAWN = "ids => ids.map(id => window.topology.cy.getElementById(id).nonempty())"
HELD = "ids => ids.map(id => window.topology.store.nodes.has(id))"
BOX = """id => {
  const box = window.topology.cy.getElementById(id).boundingBox({includeLabels: false});
  return {w: box.w, h: box.h};
}"""
POSITIONS = "ids => ids.map(id => window.topology.cy.getElementById(id).position())"
OPTIONS = "id => [...document.getElementById(id).options].map(option => option.value)"
WORKLOADS = 40


def test_dashboard_scope_applies_every_value_and_holds_for_live_changes(
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,
    page_errors: list[str],
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    dind_hex, dood_hex, plain_hex, late_plain_hex, late_dood_hex, side_hex = (
        c * 64 for c in ("3", "4", "5", "6", "7", "8")
    )
    workload_hexes = [f"{n:02x}".ljust(64, "e") for n in range(WORKLOADS)]
    socket = (Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", True),)

    def containers(*extra: ContainerInfo) -> tuple[ContainerInfo, ...]:
        return (
            pretend_container(dind_hex, "builder", {}, runs_dockerd=True),
            pretend_container(dood_hex, "ci-runner", {}, mounts=socket),
            pretend_container(plain_hex, "web", {}),
            *(pretend_container(h, f"web-{n:02d}", {}) for n, h in enumerate(workload_hexes)),
            *extra,
        )

    def side_host(state: str) -> services.ChangeSet:
        runner = pretend_container(side_hex, "side-runner", {}, mounts=socket, state=state)
        return pretend_engine("scope-side", "TEST:SCOPE:2", runner)

    pretend_engine("scope-host", "TEST:SCOPE:1", *containers())
    side_host("running")
    dind, dood, plain, side = (f"container:{h}" for h in (dind_hex, dood_hex, plain_hex, side_hex))
    workloads = [f"container:{h}" for h in workload_hexes]
    daemon, side_daemon = "daemon:TEST:SCOPE:1", "daemon:TEST:SCOPE:2"
    host, side_box = "host:scope-host", "host:scope-side"
    page = dashboard

    # The whole graph first, without a dashboard: the daemon's box holds all its containers.
    page.goto(f"{daphne_server.url}/")
    wait_for_nodes(page, [dind, dood, plain, *workloads])
    whole_daemon = page.evaluate(BOX, daemon)

    side_pin = {"x": 640, "y": 40}
    wall = team_dashboard(
        user,
        "viewer",
        filters={"roles": ["dind", "dood"], "states": ["running"]},
        tiles=["containers", "roles"],
        positions={side: side_pin},
    )
    page.goto(f"{daphne_server.url}/dashboards/{wall.pk}/")
    wait_for_nodes(page, [dind, dood, side])
    roles = page.evaluate(
        "ids => ids.map(id => window.topology.store.nodes.get(id).role)", [dind, dood, plain]
    )
    assert roles == ["dind", "dood", "plain"]

    # What is out of scope is not in the picture at all (the store has it); the boxes that hold
    # what is in scope are, nesting kept; the controls start clear, the scope is said.
    assert page.evaluate(HELD, [plain, *workloads]) == [True] * (WORKLOADS + 1)
    assert page.evaluate(DRAWN, [plain, *workloads]) == [False] * (WORKLOADS + 1)
    assert page.evaluate(SHOWN, [dind, dood, side, daemon, host]) == [True] * 5
    seen = facts(page, dind, dood, daemon, side)
    assert seen[dind]["parent"] == seen[dood]["parent"] == daemon
    assert seen[daemon]["parent"] == host and seen[daemon]["isBox"]
    assert seen[side]["position"] == side_pin  # a pinned node in scope is where it was pinned
    params = page.evaluate("() => [...new URLSearchParams(location.search).keys()].sort()")
    assert params == ["dashboard", "layout"]
    assert page.input_value("#filter-role") == "" and page.input_value("#search") == ""
    assert not page.is_visible("#clear-filters")
    scope_text = "Dashboard scope: roles dind, dood; state running"
    assert page.text_content("#dashboard-scope") == scope_text

    # Laid out for what it holds: the daemon's box is drawn around two containers (and the
    # socket pin), not 43.
    scoped_daemon = page.evaluate(BOX, daemon)
    assert scoped_daemon["w"] * scoped_daemon["h"] * 8 < whole_daemon["w"] * whole_daemon["h"]

    # Counts, choices and tiles cover the scope.
    assert page.text_content("#counts") == "2 hosts · 2 daemons · 3 containers (3 running)"
    assert page.evaluate(OPTIONS, "filter-host") == ["", host, side_box]
    assert page.evaluate(OPTIONS, "filter-daemon") == ["", daemon, side_daemon]
    wait_until(
        page,
        "() => document.querySelector('[data-tile=containers] .tile-value').textContent === '3'",
    )
    assert "1 DinD · 2 DooD" in tile_text(page, "roles")
    page.screenshot(path=str(artifacts_dir / "dashboard-scope.png"))

    # Containers started after the page loaded: the one outside the scope never arrives; nothing
    # already drawn moves.
    before = page.evaluate(POSITIONS, [dind, dood, side])
    late_plain, late_dood = f"container:{late_plain_hex}", f"container:{late_dood_hex}"
    changes = pretend_engine(
        "scope-host",
        "TEST:SCOPE:1",
        *containers(
            pretend_container(late_plain_hex, "web-late", {}),
            pretend_container(late_dood_hex, "ci-runner-2", {}, mounts=socket),
        ),
    )
    assert publish(changes)
    wait_for_nodes(page, [late_dood])
    wait_until(page, "id => window.topology.store.nodes.has(id)", late_plain)
    assert page.evaluate(DRAWN, [late_plain]) == [False]
    assert page.evaluate(POSITIONS, [dind, dood, side]) == before
    wait_until(
        page,
        "() => document.querySelector('[data-tile=containers] .tile-value').textContent === '4'",
    )
    assert "1 DinD · 3 DooD" in tile_text(page, "roles")

    # A state change takes a node out of the picture, and with it the boxes left holding nothing
    # in scope; running again, it comes back with them (and to its pinned place).
    assert publish(side_host("exited"))
    wait_until(
        page,
        "ids => ids.every(id => window.topology.cy.getElementById(id).empty())",
        [side, side_daemon, side_box],
    )
    wait_until(
        page,
        "() => document.getElementById('counts').textContent"
        " === '1 host · 1 daemon · 3 containers (3 running)'",
    )
    assert page.evaluate(OPTIONS, "filter-host") == ["", host]
    assert page.evaluate(POSITIONS, [dind, dood]) == before[:2]
    assert publish(side_host("running"))
    wait_for_nodes(page, [side, side_daemon, side_box])
    assert facts(page, side)[side]["parent"] == side_daemon
    assert facts(page, side)[side]["position"] == side_pin
    wait_until(
        page,
        "() => document.getElementById('counts').textContent"
        " === '2 hosts · 2 daemons · 4 containers (4 running)'",
    )

    # The page's own controls narrow the scope further by hiding in place, and clear back to it.
    drawn = [dind, dood, late_dood]
    before = page.evaluate(POSITIONS, drawn)
    page.select_option("#filter-role", "dood")
    wait_until(page, "() => new URLSearchParams(location.search).get('role') === 'dood'")
    assert page.evaluate(SHOWN, drawn) == [False, True, True]
    assert page.evaluate(DRAWN, drawn) == [True, True, True]
    page.select_option("#filter-role", "plain")
    page.wait_for_selector("#empty-state:not([hidden])")
    assert page.evaluate(SHOWN, drawn) == [False, False, False]
    page.click("#clear-filters")
    wait_until(page, "() => !new URLSearchParams(location.search).has('role')")
    assert page.evaluate(SHOWN, drawn) == [True, True, True]
    assert page.evaluate(POSITIONS, drawn) == before

    # The JSON export holds what is shown: the scope and its boxes.
    page.click("#export-button")
    with page.expect_download() as download:
        page.click("[data-export=json]")
    target = tmp_path / "shown.json"
    download.value.save_as(target)
    exported = json.loads(target.read_text())
    exported_ids = {node["id"] for node in exported["nodes"]}
    assert exported_ids == {dind, dood, late_dood, side, daemon, side_daemon, host, side_box}
    assert {edge["source"] for edge in exported["edges"]} == {dood, late_dood, side}

    # The wall screen holds the same scope, and does not spell it out.
    page.goto(f"{daphne_server.url}/dashboards/{wall.pk}/kiosk/")
    wait_for_nodes(page, [dind, dood, late_dood, side])
    assert page.evaluate(DRAWN, [plain, late_plain, *workloads]) == [False] * (WORKLOADS + 2)
    assert page.evaluate(SHOWN, [dind, dood, late_dood, side]) == [True] * 4
    assert page.locator("#dashboard-scope").count() == 0
    assert page_errors == []


# --- The DinD vs DooD comparison, and the map it links to ----------------------------------------


def as_a_worker(task: Any, *args: Any) -> Any:
    """Run a task as the Celery worker would: in a thread of its own, away from the event loop
    Playwright keeps in this one (publishing to the channel layer needs that)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(task, *args).result()


CREATED_FROM = """id => window.topology.cy.edges('[kind = "created"]')
  .filter(e => e.source().id() === id)
  .map(e => [e.target().id(), e.target().parent().id(), e.source().parent().id(),
    e.hasClass('dimmed')])"""
CELL_TEXT = """kind => [...document.querySelectorAll(`.comparison tbody td[data-kind="${kind}"]`)]
  .map(td => td.querySelector('.comparison-summary').textContent)"""


@pytest.mark.docker
def test_comparison_from_two_live_demos_builds_and_lights_the_map(
    private_broker: str,
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,
    page_errors: list[str],
    docker_client: Any,
    offline_images: list[str],
    settings: Any,
    artifacts_dir: Path,
) -> None:
    """A real DinD and a real DooD demo, launched through the launch task; the comparison fills
    from the engines; the build buttons queue builds, which run here as the worker would."""
    import shutil
    import tempfile

    from django.contrib.auth.models import Permission

    from topology.demos import services as demo_services
    from topology.demos import tasks
    from topology.demos.models import BuildRun, Demo

    user.user_permissions.add(Permission.objects.get(codename="launch_demo"))
    settings.TOPOLOGY_DEMO_DIR = tempfile.mkdtemp(prefix="tdb-")
    launched = []
    try:
        for kind in ("dind", "dood"):
            demo = demo_services.request_launch(user, kind)
            launched.append(str(demo.pk))
            outcome = as_a_worker(tasks.launch_demo, str(demo.pk))
            assert outcome == "running", Demo.objects.get(pk=demo.pk).error
        as_a_worker(polling.poll_everything)
        page = dashboard
        page.goto(f"{daphne_server.url}/demos/")
        wait_until(page, "() => document.querySelector('.comparison[data-read=true]') !== null")
        wait_until(
            page,
            "() => !document.querySelector('.comparison td.missing')"
            " && document.querySelectorAll('.comparison tbody tr').length === 6",
        )
        dind_cells, dood_cells = page.evaluate(CELL_TEXT, "dind"), page.evaluate(CELL_TEXT, "dood")
        assert dind_cells[0].startswith("A second daemon") and dood_cells[0].startswith(
            "The host's"
        )
        assert dind_cells[-1].startswith("Not measured yet")

        for kind in ("dind", "dood"):
            page.click(f'.comparison tr[data-row=build] td[data-kind="{kind}"] button.build-twice')
        deadline = time.monotonic() + WAIT_MS / 1000
        while BuildRun.objects.filter(status="queued").count() < 2:
            assert time.monotonic() < deadline, "the build buttons queued nothing"
            time.sleep(0.1)
        for build in BuildRun.objects.filter(status="queued"):
            assert as_a_worker(tasks.build_twice, build.pk) == "done"
        wait_until(
            page,
            "() => ['dind', 'dood'].every(k => document.querySelector("
            '`.comparison tr[data-row=build] td[data-kind="${k}"] .comparison-summary`)'
            ".textContent.startsWith('1st build'))",
        )
        built = page.evaluate(CELL_TEXT, "dind")[-1], page.evaluate(CELL_TEXT, "dood")[-1]
        for summary in built:
            assert re.search(
                r"1st build \d+\.\d\d s .* 2nd build \d+\.\d\d s \(the RUN step from the cache\)",
                summary,
            ), summary
        tags = page.eval_on_selector_all(
            ".comparison tbody *", "found => [...new Set(found.map(e => e.tagName))]"
        )
        assert set(tags) <= {"TR", "TH", "TD", "DIV", "UL", "LI", "A", "SPAN", "BUTTON"}
        page.locator(".comparison").screenshot(path=str(artifacts_dir / "comparison.png"))

        # The DooD column's children: the map lights them, beside the DooD container, with the
        # created arrows from it to each.
        href = page.get_attribute(".comparison tr[data-row=children] a.comparison-map", "href")
        wanted = [unquote(part) for part in href.split("=", 1)[1].split(",")]
        page.click(".comparison tr[data-row=children] a.comparison-map")
        page.wait_for_url("**/?highlight=*")
        wait_until(page, "() => window.topology && window.topology.store.version !== null")
        wait_until(
            page,
            "ids => ids.every(id => window.topology.cy.getElementById(id).hasClass('highlighted'))",
            wanted,
        )
        dood = Demo.objects.get(pk=launched[1])
        dood_container = next(
            c
            for c in docker_client.containers.list(filters={"label": f"topology.demo={dood.pk}"})
            if c.labels["topology.role"] == "dood"
        )
        created = page.evaluate(CREATED_FROM, f"container:{dood_container.id}")
        assert len(created) == 2
        for target, target_parent, source_parent, dimmed in created:
            assert target in wanted and target_parent == source_parent and not dimmed
        dimmed = page.evaluate("() => window.topology.cy.nodes('.dimmed').length")
        assert dimmed > 0 and page.is_visible("#highlight-bar")
        assert "Highlighted:" in page.text_content("#highlight-text")
        page.screenshot(path=str(artifacts_dir / "comparison-children-on-map.png"))

        dood_only = [f"container:{dood_container.id}"] + [t for t, *_ in created]
        page.goto(f"{daphne_server.url}/?highlight={','.join(dood_only)}")
        wait_until(page, "() => window.topology && window.topology.store.version !== null")
        wait_until(
            page,
            "ids => ids.every(id => window.topology.cy.getElementById(id).hasClass('highlighted'))",
            dood_only,
        )
        page.wait_for_timeout(300)  # a frame or two painted before the picture is taken
        page.screenshot(path=str(artifacts_dir / "dood-created-edges.png"))
        page.click("#highlight-clear")
        wait_until(page, "() => window.topology.cy.$('.highlighted, .dimmed').length === 0")
        assert "highlight" not in page.url
        assert [e for e in page_errors if "ERR_CONNECTION_REFUSED" not in e] == []
    finally:
        for demo_id in launched:
            as_a_worker(tasks.tear_down_demo, demo_id)
        shutil.rmtree(settings.TOPOLOGY_DEMO_DIR, ignore_errors=True)


def test_comparison_shows_daemon_text_as_text(
    user: Any, daphne_server: LiveServer, dashboard: Page, page_errors: list[str]
) -> None:
    """What a daemon says reaches the table as text. No real engine answers with markup in a
    container name, so this one table comes from a route the test puts in the page's way."""
    attack = '<img src=x onerror="window.__pwned = 1">'
    cell = {"summary": attack, "details": [f"<script>window.__pwned = 2</script>{attack}"],
            "highlight": [f"container:{'e' * 64}"], "tone": "bad"}  # fmt: skip
    table = {
        "read_at": "2026-12-01T10:00:00+00:00",
        "columns": {
            kind: {"demo": None, "read": True, "may_build": False} for kind in ("dind", "dood")
        },
        "rows": [
            {
                "key": "ps",
                "title": attack,
                "cells": {"dind": cell, "dood": cell},
                "highlight": cell["highlight"],
            }
        ],
    }
    page = dashboard
    page.route("**/api/demos/comparison/", lambda route: route.fulfill(json=table))
    page.goto(f"{daphne_server.url}/demos/")
    wait_until(page, "() => document.querySelector('.comparison[data-read=true]') !== null")
    assert page.text_content(".comparison tbody th .comparison-question") == attack
    assert page.evaluate(CELL_TEXT, "dind") == page.evaluate(CELL_TEXT, "dood") == [attack]
    assert page.locator(".comparison img, .comparison tbody script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page_errors == []
