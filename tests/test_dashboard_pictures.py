"""The map's pictures, measured: in every layout, at load, after Fit and after live changes, no
two node boxes overlap unless one holds the other, no label is under another node, every box title
is drawn whole inside its box, and a fitted graph stays clear of the open panels.

Geometry is read from Cytoscape as drawn (bounding boxes with and without labels, label boxes) and
judged by ``static/topology/geometry.js`` (``pictureFaults``, ``panelFaults``), the module the
Node tests cover. Real Daphne, Redis, database and Chromium throughout; the demos run on the real
engine (offline images); the host with 200 containers is a pretend engine reconciled the real way
and published through the real channel layer (pure geometry at that size). A screenshot of each
case and layout is written to var/test-artifacts/.
"""

from __future__ import annotations

import json
import shlex
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest
from playwright.sync_api import Page

from tests.conftest import LiveServer, container_info
from tests.test_dashboard import (  # noqa: F401  (browser, dashboard, page_errors: fixtures)
    browser,
    dashboard,
    page_errors,
    pretend_engine,
    publish,
    team_dashboard,
    wait_for_nodes,
    wait_until,
)
from topology.engine import demos, images
from topology.engine.dind import run_dind
from topology.inventory import polling

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYOUTS = ("nested", "hierarchical", "force")

# The picture as drawn, judged in the page by the geometry module the Node tests cover. All
# rectangles in page pixels. `readable`: box titles must be drawn at this zoom (not too small).
PROBE = """async ({readable}) => {
  const {pictureFaults, panelFaults, union} = await import('/static/topology/geometry.js');
  const cy = window.topology.cy;
  const area = cy.container().getBoundingClientRect();
  const page = (b) =>
    ({x1: b.x1 + area.left, y1: b.y1 + area.top, x2: b.x2 + area.left, y2: b.y2 + area.top});
  const shapes = {includeOverlays: false, includeUnderlays: false, includeOutlines: false};
  const text = {...shapes, includeNodes: false, includeEdges: false, includeLabels: true};
  const names = {};
  const unreadable = [];
  const nodes = cy.nodes(':visible').map((n) => {
    names[n.id()] = (n.data('display') || n.id()).split('\\n')[0];
    const hasLabel = Boolean(n.pstyle('label').strValue);
    const label = hasLabel ? n.boundingBox(text) : null;
    if (readable && n.isParent()) {
      const size = n.pstyle('font-size').pfValue * cy.zoom();
      if (size < n.pstyle('min-zoomed-font-size').pfValue) unreadable.push(n.id());
    }
    return {
      id: n.id(),
      parent: n.parent().nonempty() ? n.parent().id() : null,
      isBox: n.isParent(),
      body: page(n.renderedBoundingBox({...shapes, includeLabels: false})),
      label: label && label.w > 0 ? page(n.renderedBoundingBox(text)) : null,
      truncated: n.isParent() && label !== null
        && label.w >= n.pstyle('text-max-width').pfValue - 1,
    };
  });
  const faults = pictureFaults(nodes).map((f) => ({...f, names: f.ids.map((id) => names[id])}));
  for (const id of unreadable) faults.push({kind: 'unreadable', ids: [id], names: [names[id]]});
  const drawn = union(nodes.map((n) => union([n.body, n.label])));
  const open = {
    legend: '#legend[open]', demos: '#demo-panel[open]', details: '#details:not([hidden])',
    toolbar: '.toolbar', tiles: '.graph-area > .tiles:not([hidden])',
    banner: '#stale-banner:not([hidden])', highlight: '#highlight-bar:not([hidden])',
  };
  const panels = [];
  for (const [name, selector] of Object.entries(open)) {
    const element = document.querySelector(selector);
    if (!element) continue;
    const r = element.getBoundingClientRect();
    const rect = {x1: r.left, y1: r.top, x2: r.right, y2: r.bottom};
    if (r.width > 0 && r.height > 0) panels.push({name, rect});
  }
  const view = page({x1: 0, y1: 0, x2: cy.width(), y2: cy.height()});
  return {
    nodes: nodes.length, faults, drawn, view,
    panels: panels.map((p) => p.name),
    reached: drawn ? panelFaults(drawn, panels, view) : [],
  };
}"""

IS_BOX = "id => window.topology && window.topology.cy.getElementById(id).isParent()"
GONE = "id => window.topology && window.topology.cy.getElementById(id).empty()"
ANCESTORS = "id => window.topology.cy.getElementById(id).ancestors().map((box) => box.id())"
STILL = """() => {
  const cy = window.topology && window.topology.view.laidOut && window.topology.cy;
  return cy && !cy.animated() && !cy.nodes().some((n) => n.animated());
}"""


def wait_still(page: Page) -> None:
    """Until no layout, fit or zoom is moving anything (twice in a row, a moment apart)."""
    time.sleep(0.15)
    for _ in range(2):
        wait_until(page, STILL)
        time.sleep(0.15)


def picture(page: Page, readable: bool = False) -> dict[str, Any]:
    return page.evaluate(PROBE, {"readable": readable})


def assert_clear(
    page: Page, when: str, *, fitted: bool = False, readable: bool | None = None
) -> dict[str, Any]:
    """No fault in the picture. When `fitted`, no open panel reached and (unless `readable` is
    False) every box title drawn: not too small for Cytoscape to draw it at this zoom."""
    seen = picture(page, readable=fitted if readable is None else readable)
    assert seen["nodes"] > 0, when
    assert seen["faults"] == [], f"{when}: {json.dumps(seen['faults'], indent=1)[:3000]}"
    if fitted:
        assert seen["reached"] == [], f"{when}: the graph {seen['drawn']} reaches {seen['reached']}"
    return seen


def fit(page: Page) -> None:
    page.click("#fit")
    wait_still(page)


def every_layout(page: Page, case: str, artifacts: Path, url: str) -> None:
    """Each layout chosen from the picker, then after Fit, then loaded from a link to it."""
    for layout in LAYOUTS:
        page.select_option("#layout", layout)
        wait_still(page)
        assert_clear(page, f"{case}, {layout} chosen", fitted=True)
        fit(page)
        assert_clear(page, f"{case}, {layout} after Fit", fitted=True)
        page.screenshot(path=str(artifacts / f"pictures-{case}-{layout}.png"))
    for layout in LAYOUTS:
        page.goto(f"{url}{'&' if '?' in url else '?'}layout={layout}")
        wait_until(page, "() => window.topology && window.topology.view.laidOut")
        wait_still(page)
        assert_clear(page, f"{case}, {layout} at load", fitted=True)
    page.goto(url)
    wait_until(page, "() => window.topology && window.topology.view.laidOut")
    wait_still(page)


def open_panels(page: Page, node_id: str) -> None:
    """The demo panel and the legend open, and a node's details beside the graph."""
    page.evaluate("document.getElementById('demo-panel').open = true")
    page.evaluate("document.getElementById('legend').open = true")
    page.evaluate("id => window.topology.cy.getElementById(id).emit('tap')", node_id)
    page.wait_for_selector("#details:not([hidden])")


# --- The demos on the real engine --------------------------------------------------------------

OFFLINE = demos.DemoImages(images.DIND_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE)


@dataclass
class DemoPair:
    """This test's two demos: their rows (listed in the demo panel) and specs. Their ids start
    with `run`, so that one label pattern holds both."""

    run: str
    rows: dict[str, Any]
    specs: dict[str, demos.DemoSpec]


@pytest.fixture
def demo_pair(
    docker_client: docker.DockerClient, offline_images: list[str], user: Any
) -> Iterator[DemoPair]:
    from topology.demos.models import Demo

    run = uuid.uuid4().hex[:8]
    expires = datetime.now(UTC) + timedelta(hours=1)
    rows, specs = {}, {}
    for kind in ("dind", "dood"):
        demo_id = run + str(uuid.uuid4())[8:]
        rows[kind] = Demo.objects.create(id=demo_id, kind=kind, owner=user, expires=expires)
        specs[kind] = demos.DemoSpec(
            demo_id=demo_id,
            owner=user.username,
            expires=expires,
            images=OFFLINE,
            folder=Path(tempfile.gettempdir()) / f"tp-{demo_id[:13]}",  # short: a socket path
            host_socket="/var/run/docker.sock",
        )
    yield DemoPair(run, rows, specs)
    for spec in specs.values():
        demos.tear_down(docker_client, spec.demo_id, spec.folder)


def launch(
    pool: ThreadPoolExecutor, client: docker.DockerClient, pair: DemoPair, kind: str
) -> Future:
    """Launch one of the pair on the real engine; its row says *running* once it is."""
    from topology.demos import services

    def work() -> None:
        run = {"dind": demos.launch_dind, "dood": demos.launch_dood}[kind]
        outcome = run(client, pair.specs[kind], lambda _step: None)
        services.mark_running(pair.rows[kind], outcome.profile, outcome.nested_endpoint)

    return pool.submit(work)


def tear_down(
    pool: ThreadPoolExecutor, client: docker.DockerClient, pair: DemoPair, kind: str
) -> Future:
    from topology.demos import services

    def work() -> None:
        demos.tear_down(client, pair.specs[kind].demo_id, pair.specs[kind].folder)
        services.forget(pair.rows[kind])

    return pool.submit(work)


def follow_live(page: Page, pool: ThreadPoolExecutor, work: Future, when: str) -> int:
    """While `work` runs, poll every engine (nested ones too) and check each picture drawn."""
    checks = 0
    while True:
        finished = work.done()
        pool.submit(polling.poll_everything).result()
        if page.evaluate("() => window.topology && window.topology.cy.nodes().length") > 0:
            assert_clear(page, f"{when}, live")
            checks += 1
        if finished:
            work.result()  # raises what the launch raised
            return checks
        time.sleep(0.3)


def poll_until(page: Page, pool: ThreadPoolExecutor, expression: str, arg: Any = None) -> None:
    """Poll every engine until `expression` holds in the page (a nested daemon read through
    ``docker exec`` is found by polls, not by events)."""
    deadline = time.monotonic() + 120
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false: {expression} ({arg})"
        pool.submit(polling.poll_everything).result()
        time.sleep(0.5)


def ids_of(page: Page, run: str) -> dict[str, str]:
    """Node ids by demo part (c1, dind, sibling-1, ...); the daemons in the demo's DinD and in the
    DinD inside it as nested-1 and nested-2."""
    return page.evaluate(
        """run => {
          const found = {};
          const nodes = [...window.topology.store.nodes.values()];
          for (const node of nodes) {
            const name = node.name || '';
            const prefix = `topology-${run}-`;
            if (name.startsWith(prefix)) found[name.slice(prefix.length)] = node.id;
          }
          const levels = {[found.dind]: 'nested-1', [found['inner-dind']]: 'nested-2'};
          for (const node of nodes) {
            if (node.kind === 'daemon' && levels[node.parent]) found[levels[node.parent]] = node.id;
          }
          return found;
        }""",
        run,
    )


HAS_C5 = (
    "run => window.topology"
    " && [...window.topology.store.nodes.values()].some((n) => n.name === `topology-${run}-c5`)"
)
INNER_SOCKET = "unix:///tmp/inner-dind-run/docker.sock"  # on the DinD's own filesystem


def start_inner_dind(docker_client: docker.DockerClient, spec: demos.DemoSpec) -> tuple[Any, Any]:
    """A DinD inside the demo's DinD (on its nested daemon), with a daemon of its own that runs
    one of the demo's containers (C5): three boxes deep."""
    nested = docker.DockerClient(base_url=spec.nested_endpoint, version="auto", timeout=60)
    images.seed_image(docker_client, nested, images.DIND_IMAGE)
    inner, _profile = run_dind(
        nested,
        name=spec.name("inner-dind"),
        labels=spec.labels("dind"),
        socket_dir="/tmp/inner-dind-run",
        volume=None,
    )
    outer = docker_client.containers.get(spec.name("dind"))
    deadline = time.monotonic() + 90
    while outer.exec_run(["docker", "-H", INNER_SOCKET, "version"]).exit_code:
        assert time.monotonic() < deadline, "the inner DinD's daemon did not answer"
        time.sleep(0.5)
    labels = " ".join(
        f"--label {shlex.quote(f'{key}={value}')}" for key, value in spec.labels("workload").items()
    )
    idle = " ".join(shlex.quote(word) for word in images.IDLE_COMMAND)
    workload = shlex.quote(images.WORKLOAD_IMAGE)
    script = (
        f"docker save {workload} | docker -H {INNER_SOCKET} load && docker -H {INNER_SOCKET}"
        f" run -d --name {spec.name('c5')} {labels} --network none {workload} {idle}"
    )
    result = outer.exec_run(["sh", "-c", script])
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return nested, inner


@pytest.mark.docker
def test_demo_pictures_are_clear_live_after_fit_and_in_every_layout(
    docker_client: docker.DockerClient,
    demo_pair: DemoPair,
    user: Any,
    daphne_server: LiveServer,
    dashboard: Page,  # noqa: F811
    page_errors: list[str],  # noqa: F811
    artifacts_dir: Path,
) -> None:
    run, pair = demo_pair.run, demo_pair
    # The demos alone (a dashboard scoped to their label), whatever else runs on this engine;
    # the demo panel open, listing both (as after pressing its buttons).
    wall = team_dashboard(user, "viewer", filters={"label": f"topology.demo={run}*"})
    url = f"{daphne_server.url}/dashboards/{wall.pk}/"
    page = dashboard
    page.goto(url)
    wait_until(page, "() => window.topology && window.topology.store.version !== null")
    page.evaluate("document.getElementById('demo-panel').open = true")
    page.wait_for_selector(".demo-list li[data-status=starting]")
    pool = ThreadPoolExecutor(2)
    try:
        # The DinD demo arrives piece by piece: C1, C2, the DinD container, its nested daemon,
        # C3, C4. Every picture drawn on the way is clear.
        assert follow_live(page, pool, launch(pool, docker_client, pair, "dind"), "DinD demo") > 0
        parts = ids_of(page, run)
        wait_for_nodes(page, [parts[p] for p in ("c1", "c2", "dind", "c3", "c4", "nested-1")])
        assert_clear(page, "DinD demo, live")
        page.screenshot(path=str(artifacts_dir / "pictures-dind-live.png"))
        fit(page)
        assert_clear(page, "DinD demo, after Fit", fitted=True)
        every_layout(page, "dind", artifacts_dir, url)

        # The DooD demo beside it: both at once.
        work = launch(pool, docker_client, pair, "dood")
        follow_live(page, pool, work, "DooD demo launching beside the DinD demo")
        parts = ids_of(page, run)
        wait_for_nodes(page, [parts[p] for p in ("dood", "sibling-1", "sibling-2")])
        wait_until(page, "() => window.topology.cy.nodes('[kind = \"socket\"]').nonempty()")
        assert_clear(page, "both demos, live")
        page.screenshot(path=str(artifacts_dir / "pictures-both-live.png"))
        open_panels(page, parts["c3"])
        page.wait_for_selector(".demo-list li[data-status=running] + li[data-status=running]")
        fit(page)
        seen = assert_clear(page, "both demos, panels open, after Fit", fitted=True)
        assert {"legend", "demos", "details"} <= set(seen["panels"])
        page.screenshot(path=str(artifacts_dir / "pictures-both-panels.png"))
        page.click("#details-close")
        every_layout(page, "both", artifacts_dir, url)

        # A DinD in the DinD: a level-2 daemon, drawn inside a box three levels deep.
        work = pool.submit(start_inner_dind, docker_client, pair.specs["dind"])
        follow_live(page, pool, work, "a DinD starting in the DinD")
        nested, inner = work.result()
        try:
            poll_until(page, pool, HAS_C5, run)
            parts = ids_of(page, run)
            wait_for_nodes(page, [parts["c5"], parts["nested-2"]])
            chain = page.evaluate(ANCESTORS, parts["c5"])
            levels = ("nested-2", "inner-dind", "nested-1", "dind")
            assert chain[:4] == [parts[part] for part in levels]
            assert_clear(page, "DinD in DinD, live")
            fit(page)
            assert_clear(page, "DinD in DinD, after Fit", fitted=True)
            every_layout(page, "dind-in-dind", artifacts_dir, url)
        finally:
            inner.remove(force=True)
            nested.close()

        # The DinD demo goes: the DooD demo alone, after the removals arrive live.
        follow_live(page, pool, tear_down(pool, docker_client, pair, "dind"), "DinD demo going")
        wait_until(page, GONE, parts["dind"])
        assert_clear(page, "DooD demo alone, after removals")
        fit(page)
        assert_clear(page, "DooD demo alone, after Fit", fitted=True)
        every_layout(page, "dood", artifacts_dir, url)
    finally:
        pool.shutdown(wait=True)
    assert [e for e in page_errors if "ERR_CONNECTION_REFUSED" not in e] == []


# --- A host with 200 containers (a pretend engine, published the real way) ---------------------

BIG = 200
DIND_HEX = "d" * 64


def web(n: int) -> Any:
    return container_info(f"{n:03x}".ljust(64, "a"), f"web-{n:03d}")


def big_host(webs: range, *extra: Any) -> Any:
    """The host's engine: web containers, a DinD container, and `extra`; reconciled."""
    builder = container_info(DIND_HEX, "builder", runs_dockerd=True)
    return pretend_engine("big-host", "TEST:BIG:1", *(web(n) for n in webs), builder, *extra)


def test_a_host_with_200_containers_is_clear_in_every_layout_and_live(
    daphne_server: LiveServer,
    dashboard: Page,  # noqa: F811
    page_errors: list[str],  # noqa: F811
    artifacts_dir: Path,
) -> None:
    from topology.engine.types import DaemonSnapshot, EngineInfo, Route
    from topology.inventory import services
    from topology.inventory.services import Place

    big_host(range(BIG))
    page = dashboard
    url = f"{daphne_server.url}/"
    page.reload()
    wait_for_nodes(page, ["daemon:TEST:BIG:1", f"container:{web(BIG - 1).id}"])
    wait_still(page)
    assert_clear(page, "200 containers, at load", fitted=True)
    page.screenshot(path=str(artifacts_dir / "pictures-200-load.png"))
    every_layout(page, "200", artifacts_dir, url)

    # Live: twenty more; the DinD among them becomes a box holding a nested daemon and two
    # containers; then thirty go. Each change arrives as a delta.
    more = [container_info(f"{n:03x}".ljust(64, "b"), f"api-{n:02d}") for n in range(20)]
    assert publish(big_host(range(BIG), *more))
    wait_for_nodes(page, [f"container:{more[-1].id}"])
    assert_clear(page, "200 containers, 20 more arrived")
    nested = DaemonSnapshot(
        Route(url="unix:///nonexistent/big-nested.sock"),
        EngineInfo("TEST:BIG:NESTED", "builder", "27.0.0", "1.47", "Debian GNU/Linux 12"),
        (container_info("e" * 64, "inner-1"), container_info("f" * 64, "inner-2")),
    )
    place = Place(parent_engine_id="TEST:BIG:1", container_hex=DIND_HEX)
    assert publish(services.reconcile(nested, place))
    dind = f"container:{DIND_HEX}"
    wait_for_nodes(page, [f"container:{'f' * 64}"])
    wait_until(page, IS_BOX, dind)
    assert_clear(page, "200 containers, a DinD among them grew a nested daemon")
    assert publish(big_host(range(30, BIG), *more))
    wait_until(page, GONE, f"container:{web(0).id}")
    assert_clear(page, "200 containers, 30 gone")
    page.screenshot(path=str(artifacts_dir / "pictures-200-live.png"))
    open_panels(page, dind)
    fit(page)
    # With the legend, the demo panel and the details open, 200 containers leave titles of some
    # 5 pixels on this screen: clear, but too small to judge as readable.
    seen = assert_clear(page, "200 containers, panels open, after Fit", fitted=True, readable=False)
    assert {"legend", "demos", "details"} <= set(seen["panels"])
    page.screenshot(path=str(artifacts_dir / "pictures-200-panels.png"))
    assert page_errors == []


# --- 10,000 containers: summaries from far, containers near ----------------------------------

LARGE_ENGINES = 10
LARGE_PER_ENGINE = 1000
SUMMARISED = "() => window.topology && [...window.topology.view.detail.kept.keys()].sort()"
ZOOM_ON = """([id, zoom]) => { const cy = window.topology.cy;
  cy.zoom(zoom); cy.center(cy.getElementById(id)); }"""
SUMMARY_OF = """id => { const s = window.topology.cy.getElementById('summary:' + id);
  return s.nonempty() && {text: s.data('display'), parent: s.parent().id(),
    inside: s.boundingBox().w <= s.parent().boundingBox().w}; }"""


def large_engine(n: int, extra: int = 0) -> Any:
    """Pretend engine ``n`` of a large map: a thousand containers (and ``extra`` more)."""
    ids = [f"{n:02x}{c:04x}".ljust(64, "c") for c in range(LARGE_PER_ENGINE + extra)]
    return pretend_engine(
        f"large-{n}",
        f"TEST:LARGE:{n}",
        *(container_info(i, f"svc-{n}-{c:04d}") for c, i in enumerate(ids)),
    )


def test_a_map_of_10000_containers_is_summarised_from_far_and_clear_near_and_whole(
    daphne_server: LiveServer,
    dashboard: Page,  # noqa: F811
    page_errors: list[str],  # noqa: F811
    artifacts_dir: Path,
) -> None:
    daemons = [f"daemon:TEST:LARGE:{n}" for n in range(LARGE_ENGINES)]
    for n in range(LARGE_ENGINES):
        large_engine(n)
    page = dashboard
    page.reload()
    wait_until(page, SUMMARISED, timeout_ms=60_000)
    wait_still(page)
    assert page.evaluate(SUMMARISED) == sorted(daemons)
    for daemon in daemons:
        summary = page.evaluate(SUMMARY_OF, daemon)
        assert summary["parent"] == daemon and summary["inside"], summary
        host = daemon.replace("daemon:TEST:LARGE:", "large-")
        assert summary["text"].startswith(f"{host}\n1000 containers\nall running"), summary
    assert_clear(page, "10,000 containers, summarised from far", fitted=True, readable=False)
    page.screenshot(path=str(artifacts_dir / "pictures-10000-far.png"))

    # Zoomed in on one daemon: its containers are drawn, those far from the view stay summaries.
    page.evaluate(ZOOM_ON, [daemons[0], 0.8])
    wait_until(page, f"() => !window.topology.view.detail.kept.has('{daemons[0]}')")
    wait_still(page)
    kept = page.evaluate(SUMMARISED)
    assert daemons[0] not in kept and daemons[-1] in kept, kept
    assert_clear(page, "10,000 containers, zoomed in on one daemon")
    page.screenshot(path=str(artifacts_dir / "pictures-10000-near.png"))

    # A delta into a summarised daemon: applied (its containers given back for it), summarised
    # again with the new count.
    assert publish(large_engine(LARGE_ENGINES - 1, extra=50))
    last = f"container:{(f'{LARGE_ENGINES - 1:02x}{LARGE_PER_ENGINE + 49:04x}').ljust(64, 'c')}"
    wait_until(page, f"() => window.topology.store.nodes.has('{last}')")
    wait_until(
        page,
        f"() => window.topology.view.detail.kept.has('{daemons[-1]}')"
        f" && window.topology.cy.getElementById('summary:{daemons[-1]}').data('display')"
        ".includes('1050 containers')",
    )

    # Selecting a container of a summarised daemon gives its containers back.
    page.evaluate("id => window.topology.view.select(id)", last)
    assert page.evaluate("id => window.topology.cy.getElementById(id).selected()", last)

    # Everything given back: the whole picture, 10,050 containers, clear.
    page.evaluate(
        "() => { const detail = window.topology.view.detail;"
        " detail.enabled = false; detail.expand(); }"
    )
    assert page.evaluate(SUMMARISED) == []
    assert page.evaluate("() => window.topology.cy.nodes('[kind = \"container\"]').length") == 10050
    page.evaluate("() => window.topology.view.viewport.fitNow()")
    wait_still(page)
    assert_clear(page, "10,050 containers, all drawn", fitted=True, readable=False)
    assert page_errors == []
