"""A quiet poll with network discovery on and off: 300 real containers on 20 user networks.

After a first poll (everything new) and the few seconds in which new containers are re-checked,
quiet polls take turns: networks (and volumes) discovered, ``TOPOLOGY_DISCOVER_NETWORKS`` off,
and both discoveries off (for reference), 15 of each, in one run. For each: median and p95
time, queries and writes. Goal: no writes, and the median with networks on within 1.2x of the
one with networks off. The engine is shared: a container someone else starts or stops during a
poll is a write of that poll, which the writes column shows.
"""

from __future__ import annotations

import time

from harness import containers, measured_poll, median, p95, setup_django

setup_django()

import docker  # noqa: E402
from django.conf import settings  # noqa: E402

from topology.engine.types import Route  # noqa: E402
from topology.inventory import polling  # noqa: E402
from topology.inventory.models import Container, Network  # noqa: E402

CONTAINERS = 300
NETWORKS = 20
ROUNDS = 15


def quiet(target: polling.Target, networks: bool, volumes: bool = True) -> tuple:
    settings.TOPOLOGY_DISCOVER_NETWORKS = networks
    settings.TOPOLOGY_DISCOVER_VOLUMES = volumes
    return measured_poll(target)


def row(name: str, polls: list[tuple]) -> float:
    times = [p[0] for p in polls]
    print(
        f"  {name:<34} median {median(times):7.1f} ms  p95 {p95(times):7.1f} ms"
        f"  queries {max(p[1] for p in polls):>3}  writes {max(p[2] for p in polls)}"
    )
    return median(times)


def main() -> None:
    client = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=120)
    target = polling.Target(Route(settings.DOCKER_HOST))
    baseline = len(client.containers.list(all=True))
    print(f"host engine has {baseline} containers; {CONTAINERS} more, on {NETWORKS} networks")
    with containers(client, CONTAINERS, networks=NETWORKS):
        first_ms, _queries, first_writes = quiet(target, True)
        print(f"first poll: {first_ms:.1f} ms, {first_writes} writes")
        time.sleep(polling.RECENT_START.total_seconds() + 1)
        quiet(target, True)
        attached = sum(len(c.attachments) for c in Container.objects.all())
        print(f"stored: {Network.objects.count()} networks, {attached} attachments")
        on, off, neither = [], [], []
        for _ in range(ROUNDS):
            on.append(quiet(target, True))
            off.append(quiet(target, False))
            neither.append(quiet(target, False, volumes=False))
        settings.TOPOLOGY_DISCOVER_NETWORKS = settings.TOPOLOGY_DISCOVER_VOLUMES = True
    print(f"quiet polls of {CONTAINERS + baseline} containers, {ROUNDS} each (interleaved):")
    with_networks = row("networks and volumes discovered", on)
    without = row("networks off (volumes on)", off)
    row("networks and volumes off", neither)
    ratio = with_networks / without
    writes = max(p[2] for p in on + off)
    print(f"ratio networks on / off: {ratio:.2f}x")
    verdict = "met" if ratio <= 1.2 and writes == 0 else "NOT met"
    print(f"goal: no writes, networks on within 1.2x of off -> {verdict}")


if __name__ == "__main__":
    main()
