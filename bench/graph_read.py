"""Reading the graph at 10,000 containers, and what a reader does to the writers.

100 pretend daemons of 100 containers each are reconciled into a fresh SQLite file (the real
``services.reconcile``). Then, in one run, the way the graph was read before this benchmark
(``transaction.atomic()``, which on SQLite begins IMMEDIATE and takes the write lock, and a
build from model rows every time) against ``queries.current_graph`` (a read-only deferred
transaction, the graph built once per version):

- one read: median of 7, and the second read of the same version;
- writes while a client (another process, as Daphne is) reads the graph back to back: 40
  small write transactions (a graph version bump each, as a reconcile that changed something
  does), their median, p95 and worst time. Each write makes a new version, so the reader
  keeps building anew: the worst case for the cache.

Goal: no write waits on a reader (worst write close to an idle one).

Then, for issue 16's "loaded as values, not 10,000 model objects" and "the serialized snapshot
is cached per graph version": a new version's graph built from model objects against one built
from values (``graph_rows``), and what each of 10 clients asking for one version costs when it
serializes the graph itself against the text made once (``queries.serialized_graph``).
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime

from harness import median, p95, setup_django

setup_django()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from topology.engine.types import ContainerInfo, DaemonSnapshot, EngineInfo, Route  # noqa: E402
from topology.inventory import graph, queries, services  # noqa: E402
from topology.inventory.models import GraphRevision  # noqa: E402
from topology.inventory.services import Place  # noqa: E402

DAEMONS = 100
CONTAINERS = 100
WRITES = 40


def fill() -> None:
    now = datetime.now(UTC)
    for d in range(DAEMONS):
        containers = tuple(
            ContainerInfo(
                id=f"{d:08x}{c:08x}".ljust(64, "0"),
                name=f"app-{d}-{c}",
                image="example/app:1",
                image_id="",
                state="running",
                created=now,
                labels={  # one of a kind per container, as Compose writes them
                    "team": f"t{c % 7}",
                    "com.docker.compose.project": f"project-{d}",
                    "com.docker.compose.service": "app",
                    "com.docker.compose.container-number": str(c),
                },
                mounts=(),
                ports=(),
                networks=("bridge",),
                privileged=False,
                runs_dockerd=False,
            )
            for c in range(CONTAINERS)
        )
        info = EngineInfo(f"BENCH:{d}", f"engine-{d}", "27.3.1", "1.47", "Debian")
        services.reconcile(
            DaemonSnapshot(Route(url=f"unix:///nonexistent/{d}.sock"), info, containers),
            Place(),
            publish=False,
        )


def old_read() -> dict:
    with transaction.atomic():
        version = GraphRevision.current()
        rows = queries.load_model_rows()
    return graph.build_graph(rows, version, timezone.now())


def cold_builds() -> dict[str, float]:
    """A new version's graph built from model objects, and from values (load + build)."""
    found = {}
    for name, load in (("model objects", queries.load_model_rows), ("values", queries.load_rows)):
        found[name] = median(
            [
                timed(lambda load=load: graph.build_graph(load(), 1, timezone.now()))
                for _ in range(7)
            ]
        )
    return found


def snapshot_texts(clients: int = 10) -> dict[str, float]:
    """What each of ``clients`` asking for one version costs: serializing the graph itself
    (before), or the text made once for that version (``queries.serialized_graph``)."""
    queries.current_graph()
    each = [timed(lambda: queries.json_text(queries.current_graph())) for _ in range(clients)]
    queries._serialized.clear()
    cached = [timed(queries.serialized_graph) for _ in range(clients)]
    return {"each client serializes": median(each), "serialized once": median(cached)}


def timed(read) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    read()
    return (time.perf_counter() - started) * 1000


def uncached(read) -> float:  # type: ignore[no-untyped-def]
    queries._built.clear()
    return timed(read)


def _read_until(read, stop) -> None:  # type: ignore[no-untyped-def]
    connection.close()  # the parent's connection is not ours to use
    while not stop.is_set():
        read()


def writes_while_reading(read) -> list[float]:  # type: ignore[no-untyped-def]
    """Write transactions timed while another process reads the graph back to back (a process,
    as Daphne is: a thread of ours would also make the writer wait for the GIL)."""
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    connection.close()
    reader = context.Process(target=_read_until, args=(read, stop))
    reader.start()
    time.sleep(1.0)
    waits = []
    try:
        for _ in range(WRITES):
            started = time.perf_counter()
            with transaction.atomic():
                services.bump_version()
            waits.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(60)
    return waits


def main() -> None:
    fill()
    nodes = len(queries.current_graph()["nodes"])
    print(f"{nodes} nodes in the graph")
    idle = []
    for _ in range(WRITES):
        started = time.perf_counter()
        with transaction.atomic():
            services.bump_version()
        idle.append((time.perf_counter() - started) * 1000)
    results = {}
    for name, read in (("before", old_read), ("now", queries.current_graph)):
        queries._built.clear()
        cold = median([uncached(read) for _ in range(7)])
        read()
        warm = median([timed(read) for _ in range(7)])
        waits = writes_while_reading(read)
        results[name] = (cold, warm, median(waits), p95(waits), max(waits))
    print(f"a write with no reader: median {median(idle):.1f} ms, max {max(idle):.1f} ms")
    print(
        f"{'read':>7} {'new version ms':>14} {'same version ms':>15} "
        f"{'write median ms':>15} {'write p95 ms':>12} {'write max ms':>12}"
    )
    for name, (cold, warm, w50, w95, wmax) in results.items():
        print(f"{name:>7} {cold:>14.0f} {warm:>15.1f} {w50:>15.1f} {w95:>12.1f} {wmax:>12.1f}")
    before, now = results["before"], results["now"]
    print(
        f"ratios before/now: read of a known version {before[1] / now[1]:.0f}x, "
        f"write p95 beside a reader {before[3] / now[3]:.1f}x, "
        f"worst write {before[4] / now[4]:.1f}x"
    )
    builds = cold_builds()
    print(f"{'cold build of a new version':<28} {'median ms':>9}")
    for name, value in builds.items():
        print(f"{name:<28} {value:>9.0f}")
    print(f"ratio model objects/values: {builds['model objects'] / builds['values']:.1f}x")
    texts = snapshot_texts()
    print(f"{'snapshot text, per client':<28} {'median ms':>9}  (10 clients, one version)")
    for name, value in texts.items():
        print(f"{name:<28} {value:>9.1f}")
    print(
        f"ratio: {texts['each client serializes'] / texts['serialized once']:.0f}x "
        f"({len(queries.serialized_graph().text) / 2**20:.1f} MB of JSON)"
    )
    print(
        f"goal: no write waits on a reader -> "
        f"{'met' if now[4] < max(idle) * 3 + 20 else 'NOT met'} (worst {now[4]:.1f} ms)"
    )


if __name__ == "__main__":
    main()
