"""The CI experiment: build the same small image twice from inside a demo, and time it.

The docker CLI in the demo's DinD or DooD container runs ``docker build`` against the daemon it
reaches (the nested one for DinD, the host's through the socket for DooD), from the offline
workload image with a ``RUN`` step that writes a file: no pull, no network (``--network
none``). Both builds are timed around their ``docker exec``; the classic builder's output says
which steps came from the cache. The images carry ``topology.managed=true``, the demo's id and
``topology.build-probe=true``, and are removed as soon as they are measured (a container started
from one would inherit those labels, so none is left to start one from); tear-down removes any
a broken run left behind.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import dataclass
from typing import Any

import docker

from topology.engine.demo_facts import IMAGE_ID, clipped
from topology.engine.demos import DEMO, MANAGED, ROLE, DemoError

PROBE_LABEL = "topology.build-probe"
PROBE_REPOSITORY = "topology/build-probe"
WORKDIR = re.compile(r"^/tmp/[A-Za-z0-9._-]+$")
STEP = re.compile(r"^Step (\d+)/(\d+) : (\S+)")
OUTPUT_TAIL = 600


@dataclass(frozen=True)
class Build:
    seconds: float
    steps: int
    """Steps after ``FROM`` (the ones a cache can answer)."""
    cached_steps: int
    run_step_cached: bool
    """The ``RUN`` step (the one that does work) came from the daemon's build cache."""


@dataclass(frozen=True)
class BuildProbe:
    engine_id: str
    """The daemon that built (the one the container's CLI reaches)."""
    first: Build
    second: Build
    image_id: str
    image_size: int
    removed: bool


def dockerfile(base_image: str) -> str:
    return f"FROM {base_image}\nRUN echo 'built by Topology' > /topology-build-probe.txt\n"


def probe_tag(demo_id: str) -> str:
    return f"{PROBE_REPOSITORY}:{demo_id.replace('-', '')[:12]}"


def parse_build_output(output: str) -> tuple[int, int, bool]:
    """``(steps after FROM, those from the cache, RUN step from the cache)`` of a classic
    builder's log."""
    steps = cached = 0
    run_cached = False
    current = ""
    for line in output.splitlines():
        match = STEP.match(line.strip())
        if match:
            current = match.group(3).upper()
            steps += current != "FROM"
        elif line.strip() == "---> Using cache" and current:
            cached += 1
            run_cached = run_cached or current == "RUN"
            current = ""
    return steps, cached, run_cached


def _demo_container(client: docker.DockerClient, demo_id: str) -> Any:
    found = [
        c
        for c in client.containers.list(filters={"label": [f"{MANAGED}=true", f"{DEMO}={demo_id}"]})
        if c.labels.get(ROLE) in {"dind", "dood"}
    ]
    if not found:
        raise DemoError("the demo's DinD or DooD container is not running")
    return found[0]


def _exec(container: Any, script: str) -> tuple[int, str]:
    result = container.exec_run(["sh", "-c", script])
    return result.exit_code, (result.output or b"").decode(errors="replace")


def _build_once(container: Any, command: str) -> Build:
    started = time.monotonic()
    code, output = _exec(container, command)
    seconds = time.monotonic() - started
    if code != 0:
        raise DemoError(f"docker build failed inside the demo: {output[-OUTPUT_TAIL:].strip()}")
    steps, cached, run_cached = parse_build_output(output)
    return Build(round(seconds, 3), steps, cached, run_cached)


def remove_probe_images(container: Any, demo_id: str) -> bool:
    """Remove this demo's probe images from the daemon the container's CLI reaches."""
    listing = (
        f"docker image ls -aq --filter label={PROBE_LABEL}=true --filter label={DEMO}={demo_id}"
    )
    code, output = _exec(
        container,
        f"for id in $({listing} | sort -u); do docker image rm -f $id >/dev/null 2>&1; done;"
        f" {listing}",
    )
    return code == 0 and not output.strip()


def build_twice(client: docker.DockerClient, demo_id: str, base_image: str) -> BuildProbe:
    """Build the probe image twice inside the demo's container; remove it; say what happened."""
    container = _demo_container(client, demo_id)
    labels = " ".join(
        f"--label {shlex.quote(label)}"
        for label in (f"{MANAGED}=true", f"{DEMO}={demo_id}", f"{PROBE_LABEL}=true")
    )
    tag = probe_tag(demo_id)
    code, output = _exec(
        container,
        f"d=$(mktemp -d) && printf '%s' {shlex.quote(dockerfile(base_image))} > $d/Dockerfile"
        ' && echo "$d"',
    )
    folder = output.strip().splitlines()[-1] if output.strip() else ""
    if code != 0 or not WORKDIR.match(folder):
        raise DemoError(f"could not write the Dockerfile inside the demo: {output[-OUTPUT_TAIL:]}")
    build = (
        f"cd {folder} && DOCKER_BUILDKIT=0 docker build --network none --force-rm "
        f"{labels} -t {shlex.quote(tag)} . 2>&1"
    )
    inspect = "'[{{json .Id}},{{json .Size}}]'"
    try:
        first = _build_once(container, build)
        second = _build_once(container, build)
        _code, described = _exec(
            container,
            f"docker image inspect --format {inspect} {shlex.quote(tag)}"
            " && docker info --format '{{json .ID}}'",
        )
    finally:
        removed = remove_probe_images(container, demo_id)
        _exec(container, f"rm -rf {folder}")
    image_id, size, engine_id = _described(described)
    return BuildProbe(engine_id, first, second, image_id, size, removed)


def _described(output: str) -> tuple[str, int, str]:
    image_id, size, engine_id = "", 0, ""
    for line in output.splitlines():
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, list) and len(value) == 2:
            if isinstance(value[0], str) and IMAGE_ID.match(value[0]):
                image_id = value[0]
            if isinstance(value[1], int) and not isinstance(value[1], bool) and value[1] >= 0:
                size = value[1]
        elif isinstance(value, str):
            engine_id = clipped(value)
    return image_id, size, engine_id
