"""Rendering in the browser: a 2,000-node snapshot, then 50-node deltas.

The graph is synthetic but made the real way (``services.reconcile`` on pretend engines): 4
hosts, each with a root daemon of 400 containers, 10 of them DinD with a nested daemon of 9
containers, 10 of them DooD (2,008 containers and daemons, 40 socket edges); with networks on
(contract v2, the map's default layers): each root daemon has bridge, host, none and 4 user
networks, every container on one of them and one in ten on a second, each nested daemon its
bridge, host and none (some 150 networks, 2,200 attachments). Daphne serves it; headless
Chromium draws it with the default (nested grid) layout and the default layers (containment and
networks: the buses and their attachment lines).

- Snapshot: from the websocket message arriving to the first frame drawn after it; 7 page
  loads. Goal: under 1.5 s. The same with the containment layer only (``?layers=containment``:
  no networks drawn), for comparison.
- Delta: 50 new containers in one daemon, published the real way; from the message arriving to
  it being applied (and to the next frame). 20 deltas. Goal: applied under 50 ms, with no node
  already in the growing host moved, and no two boxes overlapping after the deltas. (The host
  grows: the host under it is pushed out of its way, with room to grow, about every other delta;
  its nodes are counted apart.)
- Saved dashboards, whose scope decides what is drawn: the snapshot for a scope that holds
  everything (the whole graph through the scoped path) and for a narrow one (roles dind, dood),
  5 page loads each; 5 deltas with the first (before the 20 above). Same goals.

``--at-10000``: the same graph with 19 hosts (some 10,200 nodes, networks on), in four ways of
the page in one run: every node drawn with text snapshots (``?detail=full&wire=text``: the
page as it was), every node with deflated snapshots (``?detail=full``), the level of detail with
text snapshots (``?wire=text``) and with deflated ones (the page as it is by default).
Server side: reading the graph, serializing the snapshot,
deflating and inflating it (sizes). For each way: message to first frame (3 page loads), 8 deltas
of 50 containers with the map fitted and 4 zoomed in on the growing daemon (applied, next frame),
and frame times (requestAnimationFrame) while the fitted map is dragged, wheel-zoomed to where
text reads (0.53), dragged there and zoomed out; then every node drawn again, no box may overlap
and nothing in the growing host may have moved. Each way adds its deltas to the graph the next
one loads (10,241 nodes for the first, 600 more for each next). Goals, for the page as it is:
first frame under 2 s, delta applied under 50 ms, frame time p95 under 33 ms.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from dashboard_stack import Stack, median, p95, wait_until

HOSTS = 4
USER_NETWORKS = 4
CONTAINERS_PER_ROOT = 400
DIND_PER_ROOT = 10
DOOD_PER_ROOT = 10
CONTAINERS_PER_NESTED = 9
PAGE_LOADS = 7
DELTAS = 20
SCOPED_LOADS = 5
SCOPED_DELTAS = 5
DELTA_SIZE = 50
SOCKET = "/var/run/docker.sock"
BURST = 0xB0B5  # the first part of a burst container's ID: no host's number


def hex_id(*parts: int) -> str:
    return "".join(f"{part:08x}" for part in parts).ljust(64, "0")[:64]


def networks_of(prefix: int, users: int) -> tuple:
    """bridge, host, none and ``users`` user networks, as a daemon lists them."""
    from topology.engine.types import NetworkInfo

    built_in = [("bridge", "bridge", "172.17.0.0/16"), ("host", "host", ""), ("none", "null", "")]
    named = built_in + [(f"app-net-{n}", "bridge", f"10.{prefix}.{n}.0/24") for n in range(users)]
    return tuple(
        NetworkInfo(hex_id(prefix, 7, n), name, driver, "local", subnets=(cidr,) if cidr else ())
        for n, (name, driver, cidr) in enumerate(named)
    )


def attachments_of(networks: tuple, index: int, nested: bool) -> tuple:
    """A root container on one user network (one in ten on a second), a nested one on bridge."""
    from topology.engine.types import Attachment

    if nested:
        return (Attachment(networks[0].id, "bridge", f"172.18.0.{index % 250 + 2}", aliases=()),)
    users = networks[3:]
    chosen = [users[index % len(users)]]
    if index % 10 == 0:
        chosen.append(users[(index + 1) % len(users)])
    return tuple(
        Attachment(n.id, n.name, n.subnets[0].replace("0/24", str(index % 250 + 2)), aliases=())
        for n in chosen
    )


def build_graph(hosts: int = HOSTS) -> tuple[str, list]:
    """Reconcile pretend engines into the database (``hosts`` of them); returns the engine that
    deltas go to and what it reports."""
    from topology.engine.types import ContainerInfo, DaemonSnapshot, EngineInfo, Mount, Route
    from topology.inventory import services
    from topology.inventory.services import Place

    now = datetime.now(UTC)

    def container(
        ident: str, name: str, dind: bool = False, dood: bool = False, attachments: tuple = ()
    ) -> ContainerInfo:
        mounts = (Mount("bind", SOCKET, SOCKET, True),) if dood else ()
        return ContainerInfo(
            id=ident,
            name=name,
            image="example/dind:27" if dind else "example/app:1.4.2",
            image_id="",
            state="running",
            created=now,
            labels={"com.example.team": f"team-{int(ident[:8], 16) % 7}"},
            mounts=mounts,
            ports=(),
            networks=("bridge",),
            privileged=dind,
            runs_dockerd=dind,
            attachments=attachments,
        )

    def engine(engine_id: str, containers: list[ContainerInfo], networks: tuple) -> DaemonSnapshot:
        info = EngineInfo(engine_id, engine_id.lower(), "27.3.1", "1.47", "Debian GNU/Linux 12")
        return DaemonSnapshot(
            Route(url=f"unix:///nonexistent/{engine_id}.sock"), info, tuple(containers), networks
        )

    first_root: list[ContainerInfo] = []
    for h in range(hosts):
        root = f"BENCH:ROOT:{h}"
        roots = first_root if h == 0 else []
        nets = networks_of(h, USER_NETWORKS)
        for c in range(CONTAINERS_PER_ROOT):
            dind = c < DIND_PER_ROOT
            dood = DIND_PER_ROOT <= c < DIND_PER_ROOT + DOOD_PER_ROOT
            joined = attachments_of(nets, c, nested=False)
            roots.append(
                container(hex_id(h, 1, c), f"app-{h}-{c:03d}", dind, dood, attachments=joined)
            )
        services.reconcile(engine(root, roots, nets), Place(host_name=f"bench-host-{h}"))
        for d in range(DIND_PER_ROOT):
            inner_nets = networks_of(100 + h * DIND_PER_ROOT + d, 0)
            nested = [
                container(
                    hex_id(h, 2, d, n),
                    f"inner-{h}-{d}-{n}",
                    attachments=attachments_of(inner_nets, n, nested=True),
                )
                for n in range(CONTAINERS_PER_NESTED)
            ]
            services.reconcile(
                engine(f"BENCH:NESTED:{h}:{d}", nested, inner_nets),
                Place(parent_engine_id=root, container_hex=hex_id(h, 1, d)),
            )
    return "BENCH:ROOT:0", first_root


def publish_delta(engine_id: str, round_number: int, existing: list) -> None:
    """Add 50 containers to one root daemon, the way a poll would, and publish the change."""
    from dataclasses import replace

    from topology.engine.types import DaemonSnapshot, EngineInfo, Route
    from topology.inventory import broadcast, services
    from topology.inventory.services import Place

    template = existing[0]
    added = [
        replace(template, id=hex_id(BURST, round_number, n), name=f"burst-{round_number}-{n:02d}")
        for n in range(DELTA_SIZE)
    ]
    existing.extend(added)
    info = EngineInfo(engine_id, engine_id.lower(), "27.3.1", "1.47", "Debian GNU/Linux 12")
    snapshot = DaemonSnapshot(
        Route(url=f"unix:///nonexistent/{engine_id}.sock"),
        info,
        tuple(existing),
        networks_of(0, USER_NETWORKS),
    )
    changes = services.reconcile(snapshot, Place(host_name="bench-host-0"))
    assert len(changes.delta.upsert_nodes) == DELTA_SIZE, changes.delta.upsert_nodes[:2]
    assert broadcast.publish(changes)


POSITIONS = """() => Object.fromEntries(window.topology.cy.nodes().filter(n => !n.isParent())
  .map(n => [n.id(), [n.position().x, n.position().y, n.ancestors().last().id()]]))"""
GROWING_HOST = "host:bench-host-0"

# Boxes (and leaves) that overlap without one holding the other, judged by the page's geometry
# module: the number of such pairs.
OVERLAPS = """async () => {
  const {pictureFaults} = await import('/static/topology/geometry.js');
  const shapes = {includeOverlays: false, includeUnderlays: false, includeOutlines: false};
  const nodes = window.topology.cy.nodes().map((n) => ({
    id: n.id(), parent: n.parent().nonempty() ? n.parent().id() : null, isBox: n.isParent(),
    body: n.boundingBox({...shapes, includeLabels: n.isParent()}), label: null,
  }));
  return pictureFaults(nodes).filter((fault) => fault.kind === 'overlap').length;
}"""


def scoped_dashboards() -> dict[str, int]:
    """Two saved dashboards the bench user may open: one whose scope holds everything (the whole
    graph through the scoped path), one narrow (DinD and DooD containers and their boxes)."""
    from django.contrib.auth import get_user_model

    from topology.dashboards.models import Dashboard
    from topology.teams.models import Membership, Team

    team = Team.objects.create(slug="bench", name="Bench")
    Membership.objects.create(team=team, user=get_user_model().objects.get(), role="viewer")
    scopes = {"wide": {"states": ["running"]}, "narrow": {"roles": ["dind", "dood"]}}
    return {
        name: Dashboard.objects.create(name=name, team=team, filters=filters).pk
        for name, filters in scopes.items()
    }


def snapshot_times(stack: Stack, browser: object, loads: int, query: str = "") -> tuple:
    """Message-to-first-frame and navigation-to-first-frame of ``loads`` page loads, how many
    nodes the first snapshot held and how many it drew (socket pins included)."""
    snapshot_ms: list[float] = []
    load_ms: list[float] = []
    received = drawn = 0
    for _ in range(loads):
        page = stack.open_dashboard(browser, query)
        first = page.evaluate("window.topology.timings[0]")
        snapshot_ms.append(first["paintedAt"] - first["receivedAt"])
        load_ms.append(first["paintedAt"])  # since navigation started
        received = first["nodes"]
        drawn = page.evaluate("window.topology.cy.nodes().length")
        page.context.close()
    return snapshot_ms, load_ms, received, drawn


def delta_times(page: object, target: str, existing: list, rounds: range) -> tuple:
    """Publish 50-node deltas; message-to-applied and -to-next-frame times, and how many nodes
    already on screen moved: in the growing host, and elsewhere (pushed out of its way)."""
    applied_ms: list[float] = []
    drawn_ms: list[float] = []
    moved = {"inside": 0, "pushed": 0}
    worker = ThreadPoolExecutor(1)
    for round_number in rounds:
        before = page.evaluate(POSITIONS)
        count = page.evaluate("window.topology.timings.length")
        # Another thread: Playwright keeps an event loop in this one, and publishing uses
        # async_to_sync.
        worker.submit(publish_delta, target, round_number, existing).result()
        timing = wait_until(
            page,
            "n => { const t = window.topology.timings;"
            " return t.length > n && t[t.length - 1].paintedAt && t[t.length - 1] }",
            count,
        )
        # (A delta inside a daemon drawn as a summary waits there: nothing arrives on screen.)
        waits = page.evaluate("() => window.topology.view.detail.deferred.size > 0")
        assert timing["type"] == "delta" and timing["nodes"] == DELTA_SIZE, timing
        assert timing["arrived"] == (0 if waits else DELTA_SIZE), timing
        applied_ms.append(timing["appliedAt"] - timing["receivedAt"])
        drawn_ms.append(timing["paintedAt"] - timing["receivedAt"])
        after = page.evaluate(POSITIONS)
        for node, at in before.items():
            if node in after and after[node] != at:
                moved["inside" if at[2] == GROWING_HOST else "pushed"] += 1
        time.sleep(0.2)
    worker.shutdown()
    return applied_ms, drawn_ms, moved


def row(name: str, values: list[float]) -> None:
    print(f"  {name:<26} median {median(values):7.1f}   p95 {p95(values):7.1f}")


def main() -> None:
    with Stack() as stack:
        started = time.perf_counter()
        target, existing = build_graph()
        dashboards = scoped_dashboards()
        from topology.inventory import graph_layers, queries

        # What the page asks for at first: containment and networks (not the shared host path
        # of each host's DooD sockets, a volume).
        whole = graph_layers.graph_in(
            queries.current_graph(), graph_layers.parse("containment,networks")
        )
        size = len(whole["nodes"])
        networks = sum(node["kind"] == "network" for node in whole["nodes"])
        attached = sum(edge["kind"] == "network" for edge in whole["edges"])
        print(
            f"synthetic graph: {size} nodes ({networks} networks), {attached} attachments, "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        stack.start_server()
        with stack.browser() as browser:
            snapshot_ms, load_ms, received, _ = snapshot_times(stack, browser, PAGE_LOADS)
            assert received == size, received
            plain_ms, _, plain_received, _ = snapshot_times(
                stack, browser, PAGE_LOADS, "?layers=containment"
            )
            wide = f"?dashboard={dashboards['wide']}"
            wide_snapshot_ms, _, _, wide_drawn = snapshot_times(stack, browser, SCOPED_LOADS, wide)
            narrow = f"?dashboard={dashboards['narrow']}"
            narrow_snapshot_ms, _, _, narrow_drawn = snapshot_times(
                stack, browser, SCOPED_LOADS, narrow
            )

            # Few deltas here: every one grows the graph, and a snapshot over 1 MiB (some 2,500
            # nodes) is more than Daphne sends in one websocket message.
            page = stack.open_dashboard(browser, wide)
            rounds = range(DELTAS, DELTAS + SCOPED_DELTAS)
            wide_applied_ms, _, wide_moved = delta_times(page, target, existing, rounds)
            page.context.close()
            page = stack.open_dashboard(browser)
            applied_ms, drawn_ms, moved_total = delta_times(page, target, existing, range(DELTAS))
            overlaps = page.evaluate(OVERLAPS)
            page.context.close()

        print(f"snapshot of {size} nodes, networks drawn, {PAGE_LOADS} page loads (ms):")
        row("message to first frame", snapshot_ms)
        row("navigation to first frame", load_ms)
        print(f"the same, containment layer only ({plain_received} nodes, no networks):")
        row("message to first frame", plain_ms)
        print(f"  ratio networks drawn / not: {median(snapshot_ms) / median(plain_ms):.2f}x")
        start = size + SCOPED_DELTAS * DELTA_SIZE
        print(f"{DELTAS} deltas of {DELTA_SIZE} new nodes, from {start} nodes (ms):")
        row("message to applied", applied_ms)
        row("message to next frame", drawn_ms)
        print(
            f"  nodes already on screen that moved: {moved_total['inside']} in the growing host,"
            f" {moved_total['pushed']} in the host pushed out of its way"
        )
        print(f"  pairs of boxes overlapping after the deltas: {overlaps}")
        print(f"saved dashboards, {SCOPED_LOADS} page loads each (ms):")
        row(f"scope of all, {wide_drawn} drawn", wide_snapshot_ms)
        row(f"narrow scope, {narrow_drawn} drawn", narrow_snapshot_ms)
        row(f"scope of all, {SCOPED_DELTAS} deltas", wide_applied_ms)
        print(
            f"  (message to applied; nodes already on screen that moved: {wide_moved['inside']}"
            f" in the growing host, {wide_moved['pushed']} pushed)"
        )
        snapshots = snapshot_ms + wide_snapshot_ms + narrow_snapshot_ms
        met = p95(snapshot_ms) < 1500 and p95(snapshots) < 1500
        print(f"goal: snapshot under 1500 ms (dashboards too) -> {'met' if met else 'NOT met'}")
        still = moved_total["inside"] + wide_moved["inside"] == 0
        met = p95(applied_ms + wide_applied_ms) < 50 and still and overlaps == 0
        verdict = "met" if met else "NOT met"
        print(
            "goal: 50-node delta applied under 50 ms, nothing in the growing host moved,"
            f" no overlap -> {verdict}"
        )


# --- At 10,000 nodes: the page's way before and after, in one run ---------------------------

LARGE_HOSTS = 19  # 19 x 528 containers and daemons, 19 hosts, some 760 networks: 10,000+ nodes
LARGE_LOADS = 3
LARGE_DELTAS = 8
SERIALIZE_ROUNDS = 5
NEAR_DELTAS = 4
ZOOM_ON_GROWING = """() => { const cy = window.topology.cy; cy.zoom(0.6);
  cy.center(cy.getElementById('daemon:BENCH:ROOT:0')); }"""
ZOOM_NOTCHES = 80  # Cytoscape zooms some 3 % a wheel event: from the fit (0.05) to 0.7
# Every leaf drawn (summaries given back) and its place, and then the summaries wanted again.
ALL_POSITIONS = f"""() => {{ const view = window.topology.view; view.detail.expand();
  const places = ({POSITIONS})(); view.detail.update(); return places; }}"""
ALL_OVERLAPS = f"""async () => {{ const view = window.topology.view; view.detail.expand();
  const faults = await ({OVERLAPS})(); view.detail.update(); return faults; }}"""

# requestAnimationFrame timestamps while Playwright pans and zooms: the frame times.
FRAMES_START = """() => { window.benchFrames = []; window.benchFramesOn = true;
  window.topology.cy.autoungrabify(true);  // a drag pans, whatever it starts on
  const tick = (t) => {
    window.benchFrames.push(t); if (window.benchFramesOn) requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""
FRAMES_STOP = """() => { window.benchFramesOn = false; const f = window.benchFrames;
  window.topology.cy.autoungrabify(false);
  return f.slice(1).map((t, i) => t - f[i]); }"""


def serialize_costs() -> dict[str, tuple[float, int]]:
    """Server side: median time to read the graph and serialize the snapshot the page asks for
    (all it may see, containment and networks), its size, and what permessage-deflate (raw
    deflate, at levels 1 and 6) would make of it."""
    import zlib

    from topology.inventory import graph_layers, queries
    from topology.inventory.consumers import _dumps

    wanted = graph_layers.parse("containment,networks")
    costs: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}

    def timed(name: str, make: object) -> object:
        begun = time.perf_counter()
        made = make()
        costs.setdefault(name, []).append((time.perf_counter() - begun) * 1000)
        return made

    for _ in range(SERIALIZE_ROUNDS):
        current = timed(
            "read the graph", lambda: graph_layers.graph_in(queries.current_graph(), wanted)
        )
        text = timed(
            "JSON (the contract's form)",
            lambda current=current: _dumps(
                {"type": "snapshot", "version": current["version"], "graph": current}
            ).encode(),
        )
        sizes["JSON (the contract's form)"] = len(text)
        for level in (1, 6):

            def deflate(level: int = level, text: bytes = text) -> bytes:
                packer = zlib.compressobj(level, zlib.DEFLATED, -15)
                return packer.compress(text) + packer.flush()

            packed = timed(f"  + deflate, level {level}", deflate)
            sizes[f"  + deflate, level {level}"] = len(packed)
            timed(f"  + inflate, level {level}", lambda packed=packed: zlib.decompress(packed, -15))
    return {name: (median(values), sizes.get(name, 0)) for name, values in costs.items()}


def pan_zoom_frames(page: object) -> tuple[list[float], float]:
    """Frame times (ms between animation frames) while the map, fitted, is dragged, zoomed in
    with the wheel to where text reads, dragged there and zoomed out again. Nodes cannot be
    grabbed meanwhile: each drag pans, as on the background, and moves no node."""
    width, height = 1920, 1080
    page.mouse.move(width / 2, height / 2)
    page.evaluate(FRAMES_START)

    def drag(steps: int, dx: float, dy: float) -> None:
        page.mouse.move(width / 2, height / 2)
        page.mouse.down()
        for step in range(1, steps + 1):
            page.mouse.move(width / 2 + dx * step / steps, height / 2 + dy * step / steps)
            time.sleep(0.016)
        page.mouse.up()

    drag(20, 300, 150)
    for _ in range(ZOOM_NOTCHES):
        page.mouse.wheel(0, -240)
        time.sleep(0.025)
    time.sleep(0.3)
    zoomed = page.evaluate("window.topology.cy.zoom()")
    drag(20, -400, -200)
    for _ in range(ZOOM_NOTCHES):
        page.mouse.wheel(0, 240)
        time.sleep(0.025)
    time.sleep(0.3)
    return page.evaluate(FRAMES_STOP), zoomed


def large_variant(
    stack: Stack, browser: object, query: str, target: str, existing: list, first_round: int
) -> dict:
    """One way of the page (``query``): page loads, deltas, pan and zoom."""
    snapshot_ms, load_ms, received, drawn = snapshot_times(stack, browser, LARGE_LOADS, query)
    page = stack.open_dashboard(browser, query)
    frames, zoomed = pan_zoom_frames(page)
    page.evaluate("window.topology.view.viewport.fitNow()")
    time.sleep(0.5)
    before = page.evaluate(ALL_POSITIONS)
    time.sleep(0.5)
    rounds = range(first_round, first_round + LARGE_DELTAS)
    applied_ms, drawn_ms, _ = delta_times(page, target, existing, rounds)
    # The same zoomed in on the growing daemon, its containers drawn.
    page.evaluate(ZOOM_ON_GROWING)
    time.sleep(0.5)
    rounds = range(first_round + LARGE_DELTAS, first_round + LARGE_DELTAS + NEAR_DELTAS)
    near_ms, near_drawn_ms, _ = delta_times(page, target, existing, rounds)
    page.evaluate("window.topology.view.viewport.fitNow()")
    time.sleep(0.5)
    after = page.evaluate(ALL_POSITIONS)
    moved = sum(
        1 for node, at in before.items() if at[2] == GROWING_HOST and after.get(node, at) != at
    )
    overlaps = page.evaluate(ALL_OVERLAPS)
    page.context.close()
    return {
        "snapshot": snapshot_ms,
        "load": load_ms,
        "received": received,
        "drawn": drawn,
        "frames": frames,
        "zoomed": zoomed,
        "applied": applied_ms,
        "painted": drawn_ms,
        "near": near_ms,
        "near_painted": near_drawn_ms,
        "moved": {"inside": moved},
        "overlaps": overlaps,
    }


def large_main(hosts: int, variants: dict[str, str]) -> None:
    with Stack() as stack:
        started = time.perf_counter()
        target, existing = build_graph(hosts)
        print(f"synthetic graph of {hosts} hosts built in {time.perf_counter() - started:.1f} s")
        costs = serialize_costs()
        stack.start_server()
        results = {}
        with stack.browser() as browser:
            first_round = 0
            for name, query in variants.items():
                results[name] = large_variant(stack, browser, query, target, existing, first_round)
                first_round += LARGE_DELTAS + NEAR_DELTAS
        print(
            "server: read the graph and serialize the page's snapshot (median of"
            f" {SERIALIZE_ROUNDS}):"
        )
        for form, (ms, size) in costs.items():
            print(
                f"  {form:<26} {ms:7.1f} ms  {size / 1e6:6.2f} MB"
                if size
                else f"  {form:<26} {ms:7.1f} ms"
            )
        for name, result in results.items():
            print(
                f"{name} ({variants[name] or 'no query'}): snapshot of {result['received']} nodes,"
                f" {result['drawn']} drawn, {LARGE_LOADS} page loads (ms):"
            )
            row("message to first frame", result["snapshot"])
            row("navigation to first frame", result["load"])
            row(f"{LARGE_DELTAS} deltas: applied", result["applied"])
            row(f"{LARGE_DELTAS} deltas: next frame", result["painted"])
            row(f"{NEAR_DELTAS} near: applied", result["near"])
            row(f"{NEAR_DELTAS} near: next frame", result["near_painted"])
            row(f"pan/zoom frames ({len(result['frames'])})", result["frames"])
            print(
                f"  (zoomed in to {result['zoomed']:.2f};"
                f" longest frame {max(result['frames']):.0f} ms)"
            )
            print(
                f"  moved in the growing host: {result['moved']['inside']},"
                f" overlapping pairs after the deltas: {result['overlaps']}"
            )
        names = list(results)
        before = results[names[0]]
        for name in names[1:]:
            after = results[name]
            print(f"ratios {names[0]} / {name}:")
            for key, label in (
                ("snapshot", "message to first frame"),
                ("applied", "delta applied"),
                ("painted", "delta to next frame"),
                ("near", "delta zoomed in, applied"),
                ("frames", "pan/zoom frame p95"),
            ):
                pick = p95 if key == "frames" else median
                print(f"  {label:<26} {pick(before[key]) / max(pick(after[key]), 1e-3):6.2f}x")
        best = results[names[-1]]
        checks = (
            ("first frame under 2 s", median(best["snapshot"]) < 2000),
            ("50-node delta applied under 50 ms", median(best["applied"] + best["near"]) < 50),
            ("pan/zoom frame time p95 under 33 ms", p95(best["frames"]) < 33),
            (
                "no overlap, nothing in the growing host moved",
                best["overlaps"] == 0 and best["moved"]["inside"] == 0,
            ),
        )
        for label, met in checks:
            print(f"goal ({names[-1]}): {label} -> {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    import sys

    if "--at-10000" in sys.argv:
        large_main(
            LARGE_HOSTS,
            {
                "before: every node, text": "?detail=full&wire=text",
                "every node, deflated": "?detail=full",
                "level of detail, text": "?wire=text",
                "level of detail, deflated (the default)": "",
            },
        )
    else:
        main()
