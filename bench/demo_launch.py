"""Click to picture: from `POST /api/demos/` to C4 running inside the DinD, and to the last
DooD sibling running on the host. Median of 5 each, the launch task run in this process (as a
worker would run it). Goals: DinD under 15 s, DooD under 5 s.

Three ways to get the images, compared in one run: ``offline`` (``make test``'s); ``auto`` with no
registry (``make run``'s on an air-gapped machine: the pull is refused, by a registry on
loopback, and the offline stand-ins built earlier are used); and ``auto`` on a fresh machine (the
stand-ins are built by the launch: a new offline tag each run, removed afterwards).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid

from harness import median, setup_django

os.environ["TOPOLOGY_OFFLINE"] = "1"
demo_dir = tempfile.mkdtemp(prefix="tb-")
os.environ["TOPOLOGY_DEMO_DIR"] = demo_dir
os.environ["TOPOLOGY_DEMO_QUOTA"] = "10"
setup_django()

import docker  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from topology.celery import app  # noqa: E402
from topology.demos import tasks  # noqa: E402
from topology.engine import images  # noqa: E402

RUNS = 5


def running(client: docker.DockerClient, demo_id: str, role: str) -> list:
    return client.containers.list(
        filters={"label": [f"topology.demo={demo_id}", f"topology.role={role}"]}
    )


def c4_running(client: docker.DockerClient, demo_id: str) -> bool:
    dind = running(client, demo_id, "dind")
    if not dind:
        return False
    nested = docker.DockerClient(base_url=dind[0].labels["topology.endpoint"], timeout=10)
    try:
        return any(c.name.endswith("-c4") for c in running(nested, demo_id, "workload"))
    finally:
        nested.close()


def measure(http: Client, engine: docker.DockerClient, kind: str) -> float:
    started = time.perf_counter()
    response = http.post("/api/demos/", {"kind": kind}, content_type="application/json")
    demo_id = response.json()["id"]
    deadline = time.monotonic() + 120
    done = (
        (lambda: c4_running(engine, demo_id))
        if kind == "dind"
        else (lambda: len(running(engine, demo_id, "workload")) >= 2)
    )
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{kind} demo {demo_id} did not finish")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    tasks.tear_down_demo(demo_id)
    return elapsed


NO_REGISTRY = {
    "TOPOLOGY_DEMO_IMAGES": "auto",
    "TOPOLOGY_DEMO_DIND_IMAGE": "127.0.0.1:1/bench/dind:27",
    "TOPOLOGY_DEMO_WORKLOAD_IMAGE": "127.0.0.1:1/bench/busybox:1",
    "TOPOLOGY_DEMO_CLI_IMAGE": "127.0.0.1:1/bench/docker-cli:27",
}
MODES = {
    "offline": {"TOPOLOGY_DEMO_IMAGES": "offline"},
    "auto, no registry": NO_REGISTRY,
    "auto, no registry, fresh machine": NO_REGISTRY,
}


def measure_mode(http: Client, engine: docker.DockerClient, mode: str, kind: str) -> float:
    if not mode.endswith("fresh machine"):
        with override_settings(**MODES[mode]):
            return measure(http, engine, kind)
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with override_settings(**MODES[mode], TOPOLOGY_DEMO_OFFLINE_TAG=tag):
            return measure(http, engine, kind)
    finally:
        for image in (images.DIND_IMAGE, images.WORKLOAD_IMAGE, images.CLI_IMAGE):
            with contextlib.suppress(docker.errors.ImageNotFound):
                engine.images.remove(images.offline_tag(image, tag))


def main() -> None:
    app.conf.task_always_eager = True
    engine = docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=120)
    images.build_offline_images(engine)
    user = get_user_model().objects.create_superuser("bench", password="bench-password-not-used")
    http = Client(SERVER_NAME="127.0.0.1")
    http.force_login(user)
    try:
        results = {
            (mode, kind): [measure_mode(http, engine, mode, kind) for _ in range(RUNS)]
            for kind in ("dind", "dood")
            for mode in MODES
        }
    finally:
        shutil.rmtree(demo_dir, ignore_errors=True)
    for kind, goal in (("dind", 15), ("dood", 5)):
        base = median(results[("offline", kind)])
        for mode in MODES:
            values = results[(mode, kind)]
            print(
                f"{kind}, {mode}: median {median(values):.2f} s (min {min(values):.2f}, "
                f"max {max(values):.2f}) over {RUNS}, {median(values) / base:.2f}x offline; "
                f"goal under {goal} s -> {'met' if median(values) < goal else 'NOT met'}"
            )
    dind, dood = median(results[("offline", "dind")]), median(results[("offline", "dood")])
    print(f"ratio dind/dood (offline): {dind / dood:.1f}x")


if __name__ == "__main__":
    main()
