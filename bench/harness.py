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
def containers(client, count: int) -> Iterator[list]:  # type: ignore[no-untyped-def]
    """``count`` idle containers from the offline workload image, removed afterwards."""
    from topology.engine import images

    images.build_offline_images(client)
    run = uuid.uuid4().hex[:8]
    made: list = []
    try:
        with ThreadPoolExecutor(4) as pool:
            made.extend(pool.map(lambda index: start_container(client, run, index), range(count)))
        yield made
    finally:
        remove_bench_containers(client, run)


def start_container(client, run: str, index: int):  # type: ignore[no-untyped-def]
    """One idle container of benchmark ``run`` (see ``remove_bench_containers``)."""
    from topology.engine import images

    return client.containers.run(
        images.WORKLOAD_IMAGE,
        images.IDLE_COMMAND,
        name=f"topology-bench-{run}-{index}",
        labels={"topology.managed": "true", LABEL: run},
        detach=True,
        network_mode="none",
    )


def remove_bench_containers(client, run: str) -> None:  # type: ignore[no-untyped-def]
    found = client.containers.list(all=True, filters={"label": f"{LABEL}={run}"})
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: c.remove(force=True), found))
