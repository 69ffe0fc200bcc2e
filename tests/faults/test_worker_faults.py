"""A Celery worker's process is SIGKILLed in the middle of a DooD launch, at each step. A real
worker (prefork, one child, on a queue of this test's own) runs the launch; when the demo's
progress reaches the step, the child running it is killed outright. The message is given back
(``acks_late`` with ``reject_on_worker_lost``), a new child takes it once the dead run's lock
lapses and resumes: the demo ends ``running``, with each of its containers once, and counts
once against its owner's quota."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from tests.conftest import database_url_of_the_test_database
from topology.demos import services, tasks
from topology.demos.models import Demo
from topology.engine.demos import DEMO, DOOD_STEPS, IMAGE_STEP

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
STEP_KEYS = [IMAGE_STEP[0], *(key for key, _label in DOOD_STEPS)]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("step", STEP_KEYS)
def test_a_worker_killed_at_a_launch_step_resumes_the_launch(
    step: str, offline_images, docker_client, django_user_model, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    queue = f"launch-fault-{os.getpid()}-{step}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test_database(connection.settings_dict),
        "DEBUG": "1",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "topology",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    owner = django_user_model.objects.create_user(f"killed-at-{step}", password="a-long-pass-9")
    owner.user_permissions.add(Permission.objects.get(codename="launch_demo"))
    demo_id = ""
    killed_at = None
    try:
        demo = services.request_launch(
            owner, "dood", None, lambda i: tasks.launch_demo.apply_async((i,), queue=queue)
        )
        demo_id = str(demo.id)
        deadline = time.monotonic() + 180
        while killed_at is None:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-2000:]
            demo.refresh_from_db()
            assert demo.status == Demo.Status.STARTING, f"{demo.status}: {demo.error}"
            if demo.step and STEP_KEYS.index(demo.step) >= STEP_KEYS.index(step):
                for child in children_of(worker.pid):
                    os.kill(child, signal.SIGKILL)
                    killed_at = demo.step
            time.sleep(0.02)
        print(f"\nworker child killed at step {killed_at!r} (asked: {step!r})")
        while demo.status == Demo.Status.STARTING:
            assert time.monotonic() < deadline + 180, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
            demo.refresh_from_db()
        assert demo.status == Demo.Status.RUNNING, f"{demo.status}: {demo.error}"
        made = docker_client.containers.list(all=True, filters={"label": f"{DEMO}={demo_id}"})
        names = [c.name for c in made]
        assert len(names) == len(set(names)) == 3, names  # the DooD container and its two
        assert Demo.objects.filter(owner=owner).count() == 1  # counted once
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()
        if demo_id:
            tasks.tear_down_demo(demo_id)
    assert not docker_client.containers.list(all=True, filters={"label": f"{DEMO}={demo_id}"})
