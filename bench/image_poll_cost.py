"""A quiet poll with image discovery on and off: 100 real containers and 40 more images.

The images are made here (bench containers committed, each with a tag of its own: never
pulled), so the host's cache holds some 45. After a first poll (everything new) and the few
seconds in which new containers are re-checked, quiet polls take turns: images discovered,
``TOPOLOGY_DISCOVER_IMAGES`` off, 15 of each, in one run. For each: median and p95 time,
queries and writes. Goal: the median poll writes nothing (others' containers coming and going
on the shared engine are writes of some polls: the column says how many), and the median with
images on within 1.2x of the one with images off (one more API call and one query).
"""

from __future__ import annotations

import contextlib
import time
import uuid

from harness import LABEL, containers, measured_poll, median, p95, setup_django

setup_django()

import docker  # noqa: E402
from django.conf import settings  # noqa: E402

from topology.engine.types import Route  # noqa: E402
from topology.inventory import polling  # noqa: E402
from topology.inventory.models import Image  # noqa: E402

CONTAINERS = 100
IMAGES = 40
ROUNDS = 15


def quiet(target: polling.Target, images: bool) -> tuple:
    settings.TOPOLOGY_DISCOVER_IMAGES = images
    return measured_poll(target)


def row(name: str, polls: list[tuple]) -> float:
    times = [p[0] for p in polls]
    queries = sorted(p[1] for p in polls)
    print(
        f"  {name:<18} median {median(times):7.1f} ms  p95 {p95(times):7.1f} ms"
        f"  queries {queries[0]}..{queries[-1]}  writes max {max(p[2] for p in polls)}"
        f"  polls with writes {sum(1 for p in polls if p[2])}/{len(polls)}"
    )
    return median(times)


@contextlib.contextmanager
def more_images(client: docker.DockerClient, source, count: int):  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:8]
    made = []
    try:
        for index in range(count):
            made.append(
                source.commit(
                    repository=f"localhost:5000/topology-bench-{run}/img{index}",
                    tag="1",
                    conf={"Labels": {"topology.managed": "true", LABEL: run}},
                )
            )
        yield made
    finally:
        for image in made:
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(image.id, force=True)


def main() -> None:
    client = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=120)
    target = polling.Target(Route(settings.DOCKER_HOST))
    with containers(client, CONTAINERS) as made, more_images(client, made[0], IMAGES):
        cached = len(client.images.list())
        print(f"host engine: {len(client.containers.list(all=True))} containers, {cached} images")
        first_ms, _queries, first_writes = quiet(target, True)
        print(f"first poll: {first_ms:.1f} ms, {first_writes} writes")
        time.sleep(polling.RECENT_START.total_seconds() + 1)
        quiet(target, True)
        print(f"stored: {Image.objects.count()} images")
        on, off = [], []
        for _ in range(ROUNDS):
            on.append(quiet(target, True))
            off.append(quiet(target, False))
        settings.TOPOLOGY_DISCOVER_IMAGES = True
    print(f"quiet polls, {ROUNDS} each (interleaved):")
    with_images = row("images discovered", on)
    without = row("images off", off)
    ratio = with_images / without
    writes = median([p[2] for p in on + off])
    print(f"ratio images on / off: {ratio:.2f}x")
    verdict = "met" if ratio <= 1.2 and writes == 0 else "NOT met"
    print(f"goal: the median poll writes nothing, images on within 1.2x of off -> {verdict}")


if __name__ == "__main__":
    main()
