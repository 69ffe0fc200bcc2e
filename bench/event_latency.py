"""Event-to-database latency: from `docker run` returning to the container's row existing.

The events watcher of the default mode (``informer.Informer``) runs in a thread of this
process (as `manage.py watch_events` would),
against a throw-away database. 20 runs; median and p95. Goal: p95 under 200 ms.
"""

from __future__ import annotations

import time
import uuid

from harness import median, p95, remove_bench_containers, setup_django, start_container

setup_django()

import docker  # noqa: E402
from django.conf import settings  # noqa: E402

from topology.engine import images  # noqa: E402
from topology.inventory.informer import Informer  # noqa: E402
from topology.inventory.models import Container  # noqa: E402

RUNS = 20


def main() -> None:
    client = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=120)
    images.build_offline_images(client)
    with Informer().running_in_thread() as watcher:
        measure(client, watcher)


def measure(client: docker.DockerClient, watcher: Informer) -> None:
    while not any(state.streaming for state in list(watcher.followed.values())):
        time.sleep(0.05)
    time.sleep(1)
    latencies = []
    run_id = uuid.uuid4().hex[:8]
    try:
        for index in range(RUNS):
            container = start_container(client, run_id, index)
            returned = time.perf_counter()
            while not Container.objects.filter(container_id=container.id).exists():
                time.sleep(0.002)
            latencies.append((time.perf_counter() - returned) * 1000)
            time.sleep(0.2)
    finally:
        remove_bench_containers(client, run_id)
    print(
        f"event to database over {RUNS} runs: median {median(latencies):.1f} ms, "
        f"p95 {p95(latencies):.1f} ms, max {max(latencies):.1f} ms"
    )
    print(f"goal: p95 under 200 ms -> {'met' if p95(latencies) < 200 else 'NOT met'}")


if __name__ == "__main__":
    main()
