"""Celery tasks for demos, on the ``launch`` queue (see ``CELERY_TASK_ROUTES``)."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import timedelta

import redis
from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from topology import locks
from topology.demos import services
from topology.demos.models import BuildRun, Demo
from topology.engine import build_probe
from topology.engine import demos as scenarios
from topology.engine.connection import DockerClient, EngineError, refusal

logger = logging.getLogger(__name__)

#: A task's lock lapses this long after its holder stopped renewing it (a worker killed outright
#: holds a launch up for this long at most; a live one renews it every third of it).
TASK_LOCK_SECONDS = 15
LAUNCH_TIME_LIMIT = 300
#: A demo still starting with no progress for this long has lost its launch: Celery would have
#: stopped a live one at its time limit. The watchdog rolls it back.
LAUNCH_STALLED_AFTER = timedelta(seconds=LAUNCH_TIME_LIMIT + 60)


def _engine() -> DockerClient:
    return services.local_engine(read_timeout=120)


def _one_at_a_time(kind: str, key: str) -> AbstractContextManager[bool]:
    """Held by one run of a task for ``key`` at a time, for as long as that run lives."""
    return locks.held(kind, key, seconds=TASK_LOCK_SECONDS, required=False, renewed=True)


@shared_task(
    bind=True,
    name="topology.demos.tasks.launch_demo",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=LAUNCH_TIME_LIMIT,
)
def launch_demo(self: Task, demo_id: str) -> str:
    """Build a demo step by step; on any failure, remove what was made and say why.

    Resumable: the message is acknowledged only when the run ends, and a worker that dies
    mid-launch (killed, out of memory) gives it back (``reject_on_worker_lost``), so the launch
    runs again; every step finds what an earlier run made and goes on from there. Two runs never
    overlap: a run that finds the demo's lock held (by a live run, or by a dead one whose lock
    lapses within ``TASK_LOCK_SECONDS``) comes back later. A run that finds the demo no longer
    ``starting`` does nothing.
    """
    with _one_at_a_time("launch", demo_id) as held:
        if not held:
            raise self.retry(countdown=TASK_LOCK_SECONDS / 3, max_retries=12)
        demo = Demo.objects.select_related("owner").filter(pk=demo_id).first()
        if demo is None or demo.status != Demo.Status.STARTING:
            return "nothing to do"
        spec = services.spec_for(demo)
        try:
            client = _engine()
        except EngineError:
            services.mark_failed(
                demo,
                f"The Docker engine at {settings.DOCKER_HOST} did not answer: start it "
                "(or set DOCKER_HOST), then try again.",
            )
            return "failed"
        try:
            services.record_step(demo, "images")
            ready = scenarios.ensure_images(
                client,
                spec.images,
                settings.TOPOLOGY_DEMO_IMAGES,
                needs=scenarios.NEEDS[demo.kind],
                offline_tag=settings.TOPOLOGY_DEMO_OFFLINE_TAG,
                say=lambda text, update=False: services.record_note(demo, text, update=update),
            )
            launch = scenarios.launch_dind if demo.kind == Demo.Kind.DIND else scenarios.launch_dood
            outcome = launch(
                client, replace(spec, images=ready), lambda step: services.record_step(demo, step)
            )
        except Exception as error:
            message = str(error) if isinstance(error, scenarios.DemoError) else _plain(error)
            logger.warning("demo %s failed at %s: %s", demo_id, demo.step, message)
            try:
                scenarios.tear_down(client, str(demo.id), services.demo_folder(demo))
            except Exception as cleanup_error:  # the demo still fails, with its own reason
                logger.warning("demo %s: tear-down after failure: %s", demo_id, cleanup_error)
            services.mark_failed(demo, message)
            return "failed"
        finally:
            client.close()
        services.mark_running(demo, outcome.profile, outcome.nested_endpoint)
        return "running"


def _plain(error: Exception) -> str:
    refused = refusal(error)
    if refused is not None:
        return f"the Docker engine refused: {refused}"
    if isinstance(error, redis.RedisError):
        return "Redis did not answer"
    return f"{type(error).__name__}: {error}"


@shared_task(
    bind=True,
    name="topology.demos.tasks.build_twice",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=300,
)
def build_twice(self: Task, build_id: int) -> str:
    """The build experiment: the same image built twice inside the demo, timed, then removed.

    On the ``launch`` queue like launches: it is slow (seconds to a minute), so pages never wait
    for it; its result is stored by ``services`` and pushed to the demo pages when ready.
    """
    with _one_at_a_time("build", str(build_id)) as held:
        if not held:
            raise self.retry(countdown=TASK_LOCK_SECONDS / 3, max_retries=12)
        build = BuildRun.objects.select_related("demo").filter(pk=build_id).first()
        if build is None or build.status not in BuildRun.PENDING:
            return "nothing to do"  # a running one holds no lock: its worker died; build again
        services.build_started(build)
        client = None
        try:
            client = _engine()
            probe = build_probe.build_twice(
                client, str(build.demo_id), services.demo_images().workload
            )
        except Exception as error:
            message = str(error) if isinstance(error, scenarios.DemoError) else _plain(error)
            logger.warning("build experiment %s failed: %s", build_id, message)
            services.build_failed(build, message)
            return "failed"
        finally:
            if client is not None:
                client.close()
        services.build_finished(build, probe)
        return "done"


@shared_task(
    name="topology.demos.tasks.tear_down_demo",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=120,
)
def tear_down_demo(demo_id: str) -> int:
    """Remove everything the demo made, then the demo; idempotent (a redelivery finds less)."""
    demo = Demo.objects.filter(pk=demo_id).first()
    folder = services.demo_folder(demo) if demo else None
    client = _engine()
    try:
        removed = scenarios.tear_down(client, demo_id, folder)
    finally:
        client.close()
    if demo is not None:
        services.forget(demo)
    return removed.containers


@shared_task(name="topology.demos.tasks.reap_expired_demos", time_limit=120)
def reap_expired_demos() -> list[str]:
    """Every minute: remove demos past their time to live, found by label on the engine and in
    the database. Never touches anything without ``topology.managed=true``. A failed demo has no
    time to live (it runs nothing): it stays, to be tried again or removed, and only leftovers
    on the engine that carry its label are cleared."""
    now = timezone.now()
    client = _engine()
    try:
        expired = scenarios.expired_demo_ids(client, now)
        live = Demo.objects.filter(expires__lt=now).exclude(status=Demo.Status.FAILED)
        expired |= {str(pk) for pk in live.values_list("pk", flat=True)}
        reaped = []
        for demo_id in sorted(expired):
            demo = Demo.objects.filter(pk=demo_id).first()
            if demo is not None and demo.status == Demo.Status.FAILED:
                scenarios.tear_down(client, demo_id, services.demo_folder(demo))
                continue
            if demo is None:
                services.record_reaped_orphan(demo_id)
            elif demo.status != Demo.Status.STOPPING:
                services.request_teardown(None, demo)
            tear_down_demo(demo_id)
            reaped.append(demo_id)
    finally:
        client.close()
    return reaped


@shared_task(name="topology.demos.tasks.roll_back_stalled_launches", time_limit=120)
def roll_back_stalled_launches() -> list[str]:
    """Every minute, the watchdog: a demo still ``starting`` with no progress for
    ``LAUNCH_STALLED_AFTER`` lost its launch with its worker (a message not given back: the
    whole worker was killed). Unless a live run holds its lock, what was made is removed and
    the demo fails, saying so; it counts against no quota, and **Try again** launches it anew.
    """
    rolled_back = []
    for demo in services.stalled_launches(timezone.now() - LAUNCH_STALLED_AFTER):
        with _one_at_a_time("launch", str(demo.id)) as held:
            if not held:
                continue  # a live run has it
            demo.refresh_from_db()
            if demo.status != Demo.Status.STARTING:
                continue
            step = services.step_label(demo) or "the start"
            client = _engine()
            try:
                scenarios.tear_down(client, str(demo.id), services.demo_folder(demo))
            finally:
                client.close()
            services.mark_failed(
                demo,
                f"The launch stopped at {step} (its worker went away) and was rolled back; "
                "try again.",
            )
            rolled_back.append(str(demo.id))
    return rolled_back
