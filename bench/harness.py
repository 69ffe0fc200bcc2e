"""Shared set-up for benchmarks: a throw-away database, real containers, and statistics."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABEL = "topology.bench"


def setup_django() -> Path:
    """Django on a fresh SQLite file (the dev database is never touched)."""
    folder = Path(tempfile.mkdtemp(prefix="topology-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return folder


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def containers(client, count: int, networks: int = 0) -> Iterator[list]:  # type: ignore[no-untyped-def]
    """``count`` idle containers from the offline workload image, removed afterwards; with
    ``networks``, that many user networks (managed, removed too), the containers spread over
    them in turn (else on no network at all)."""
    from topology.engine import images

    images.build_offline_images(client)
    run = uuid.uuid4().hex[:8]
    made: list = []
    nets = []
    try:
        for index in range(networks):
            labels = {"topology.managed": "true", LABEL: run}
            nets.append(client.networks.create(f"topology-bench-{run}-net{index}", labels=labels))

        def start(index: int):  # type: ignore[no-untyped-def]
            network = nets[index % len(nets)].name if nets else None
            return start_container(client, run, index, network)

        with ThreadPoolExecutor(4) as pool:
            made.extend(pool.map(start, range(count)))
        yield made
    finally:
        remove_bench_containers(client, run)
        for network in nets:
            network.remove()


def start_container(client, run: str, index: int, network: str | None = None):  # type: ignore[no-untyped-def]
    """One idle container of benchmark ``run`` (see ``remove_bench_containers``), on
    ``network`` or on none."""
    from topology.engine import images

    where = {"network": network} if network else {"network_mode": "none"}
    return client.containers.run(
        images.WORKLOAD_IMAGE,
        images.IDLE_COMMAND,
        name=f"topology-bench-{run}-{index}",
        labels={"topology.managed": "true", LABEL: run},
        detach=True,
        **where,
    )


def remove_bench_containers(client, run: str) -> None:  # type: ignore[no-untyped-def]
    found = client.containers.list(all=True, filters={"label": f"{LABEL}={run}"})
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: c.remove(force=True), found))


WRITES = ("INSERT", "UPDATE", "DELETE")


def measured_poll(target):  # type: ignore[no-untyped-def]
    """One poll, timed (ms), with its query and write counts; a poll skipped because another
    process held the lock is redone."""
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from topology.inventory import polling

    while True:
        with CaptureQueriesContext(connection) as seen:
            started = time.perf_counter()
            result = polling.poll_target(target, publish=False, lock_required=False)
            elapsed = (time.perf_counter() - started) * 1000
        if not result.skipped:
            break
        time.sleep(0.05)
    assert result.error is None, result.error
    writes = sum(q["sql"].split()[0] in WRITES for q in seen.captured_queries)
    return elapsed, len(seen.captured_queries), writes
