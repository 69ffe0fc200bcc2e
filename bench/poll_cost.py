"""Poll cost with 10, 100 and 300 real containers on the host engine.

For each size: the first poll (everything new) and the median of 15 polls that find nothing
new, with their query and write counts. Goal: a no-change poll of 300 containers under 150 ms,
with zero writes.
"""

from __future__ import annotations

import time

from harness import containers, measured_poll, median, setup_django

setup_django()

import docker  # noqa: E402
from django.conf import settings  # noqa: E402

from topology.engine.types import Route  # noqa: E402
from topology.inventory import polling  # noqa: E402
from topology.inventory.models import Container  # noqa: E402


def main() -> None:
    client = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=120)
    target = polling.Target(Route(settings.DOCKER_HOST))
    baseline = len(client.containers.list(all=True))
    print(f"host engine already has {baseline} containers; sizes below are added to those")
    print(
        f"{'containers':>10} {'first ms':>9} {'writes':>6} {'quiet ms':>9} {'queries':>7} "
        f"{'writes':>6} {'ms/ctr':>7}"
    )
    results = {}
    for size in (10, 100, 300):
        Container.objects.all().delete()
        with containers(client, size):
            first_ms, _queries, first_writes = measured_poll(target)
            # New containers are re-checked for a late-starting dockerd for a few seconds;
            # a quiet poll is one after that window.
            time.sleep(polling.RECENT_START.total_seconds() + 1)
            measured_poll(target)
            quiet = [measured_poll(target) for _ in range(15)]
            quiet_ms = median([q[0] for q in quiet])
            queries = max(q[1] for q in quiet)
            writes = max(q[2] for q in quiet)
            results[size] = quiet_ms
            print(
                f"{size:>10} {first_ms:>9.1f} {first_writes:>6} {quiet_ms:>9.1f} {queries:>7} "
                f"{writes:>6} {quiet_ms / (size + baseline):>7.2f}"
            )
    print(f"ratio quiet poll 300/10: {results[300] / results[10]:.2f}x")
    print(f"goal: quiet poll of 300 under 150 ms -> {'met' if results[300] < 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
