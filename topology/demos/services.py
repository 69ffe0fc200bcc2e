"""Demo actions: every change to demos and the audit log goes through these functions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from topology import locks
from topology.channel_layer import send_to_group
from topology.demos import comparison
from topology.demos.models import AuditEntry, BuildRun, Demo
from topology.engine import images
from topology.engine.build_probe import BuildProbe
from topology.engine.connection import DockerClient, EngineAddress, open_client
from topology.engine.demo_facts import DemoFacts, demo_facts
from topology.engine.demos import DIND_STEPS, DOOD_STEPS, IMAGE_STEP, DemoImages, DemoSpec
from topology.teams.models import Team

logger = logging.getLogger(__name__)

PROGRESS_GROUP = "demos"
STEPS = {Demo.Kind.DIND: (IMAGE_STEP, *DIND_STEPS), Demo.Kind.DOOD: (IMAGE_STEP, *DOOD_STEPS)}


class DemoRefused(Exception):
    """A launch the rules do not allow (quota, global cap); the message says why."""


class DemoNotFailed(Exception):
    """Only a failed demo can be tried again."""


class QueueDown(Exception):
    """The task queue (Redis) did not take the work; nothing was left behind. For people."""


QUEUE_DOWN = (
    "The task queue (Redis) is not answering, so nothing was {what}; try again in a moment."
)

Dispatch = Callable[[str], Any]
"""Queues the task that does the work (``tasks.launch_demo.delay``, ...), given the demo id."""


def demo_images() -> DemoImages:
    """The images a demo asks for: the offline ones when ``TOPOLOGY_DEMO_IMAGES=offline``,
    else the pinned ones from settings (``auto`` may still run offline stand-ins, see
    ``topology.engine.demos.ensure_images``)."""
    if settings.TOPOLOGY_DEMO_IMAGES == "offline":
        tag = settings.TOPOLOGY_DEMO_OFFLINE_TAG
        return DemoImages(
            images.offline_tag(images.DIND_IMAGE, tag),
            images.offline_tag(images.WORKLOAD_IMAGE, tag),
            images.offline_tag(images.CLI_IMAGE, tag),
        )
    return DemoImages(
        settings.TOPOLOGY_DEMO_DIND_IMAGE,
        settings.TOPOLOGY_DEMO_WORKLOAD_IMAGE,
        settings.TOPOLOGY_DEMO_CLI_IMAGE,
    )


def demo_folder(demo: Demo) -> Path:
    return Path(settings.TOPOLOGY_DEMO_DIR) / str(demo.id).replace("-", "")[:12]


def spec_for(demo: Demo) -> DemoSpec:
    host = settings.DOCKER_HOST
    return DemoSpec(
        demo_id=str(demo.id),
        owner=demo.owner.get_username(),
        expires=demo.expires,
        images=demo_images(),
        folder=demo_folder(demo),
        host_socket=host.removeprefix("unix://") if host.startswith("unix://") else "",
        label_key=settings.TOPOLOGY_LABEL_KEY,
    )


def _audit(
    actor: AbstractBaseUser | None, action: str, demo: Demo | None, detail: str = ""
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor else "reaper",
        action=action,
        demo_id=demo.id if demo else None,
        demo_kind=demo.kind if demo else "",
        detail=detail,
    )


def step_label(demo: Demo) -> str:
    """The label of the step under way (or failed), as the progress shows it."""
    return next((label for key, label in STEPS[Demo.Kind(demo.kind)] if key == demo.step), "")


def describe(demo: Demo) -> dict[str, Any]:
    """The demo as the REST API and the progress websocket show it."""
    steps = STEPS[Demo.Kind(demo.kind)]
    labels = [label for _key, label in steps]
    current = step_label(demo)
    return {
        "id": str(demo.id),
        "kind": demo.kind,
        "status": demo.status,
        "owner": demo.owner.get_username(),
        "team": demo.team.slug if demo.team_id else None,
        "created": demo.created.isoformat(),
        "expires": demo.expires.isoformat(),
        "profile": demo.profile,
        "error": demo.error,
        "progress": {
            "done": demo.steps_done,
            "total": len(steps),
            "step": current,
            "steps": labels,
            "notes": demo.notes.splitlines(),
        },
        "build": describe_build(latest_build(demo)),
    }


def latest_build(demo: Demo) -> BuildRun | None:
    return demo.builds.first() if demo.pk else None


def describe_build(build: BuildRun | None) -> dict[str, Any] | None:
    """The last build experiment of a demo, as the API and the progress socket show it."""
    if build is None:
        return None
    return {
        "id": build.pk,
        "status": build.status,
        "requested": build.requested.isoformat() if build.requested else None,
        "finished": build.finished.isoformat() if build.finished else None,
        "engine_id": build.engine_id,
        "steps": build.steps,
        "first": {
            "seconds": build.first_seconds,
            "cached_steps": build.first_cached_steps,
            "run_cached": build.first_run_cached,
        },
        "second": {
            "seconds": build.second_seconds,
            "cached_steps": build.second_cached_steps,
            "run_cached": build.second_run_cached,
        },
        "image_size": build.image_size,
        "image_removed": build.image_removed,
        "error": build.error,
    }


def _publish(demo: Demo, event: str = "demo", description: dict[str, Any] | None = None) -> None:
    """Send the demo as it is now to the progress websockets, once the change is committed."""
    described = description or describe(demo)
    message = {"type": "demo.progress", "message": {"type": event, "demo": described}}
    what = f"progress of {demo.id}"
    transaction.on_commit(lambda: send_to_group(PROGRESS_GROUP, message, what))


def request_launch(
    user: AbstractBaseUser, kind: str, team: Team | None = None, dispatch: Dispatch | None = None
) -> Demo:
    """Create a demo of ``team`` (None: shared) in ``starting`` state and ``dispatch`` its
    launch, or refuse with a reason (quota, global cap). Who may launch for which team is the
    caller's check.

    A refusal is audited too. When the launch cannot be queued (``QueueDown``: Redis is down),
    the demo is withdrawn again: no ``starting`` row is left to hold a quota, and the audit
    log says it was refused.
    """
    try:
        demo = _reserve(user, kind, team)
    except DemoRefused as refusal:
        _audit(user, AuditEntry.Action.REFUSED, None, f"{kind}: {refusal}")
        raise
    if dispatch is not None:
        try:
            dispatch(str(demo.id))
        except Exception as error:
            _withdraw(demo, error)
            raise QueueDown(QUEUE_DOWN.format(what="launched")) from error
    _publish(demo)
    return demo


@transaction.atomic
def _withdraw(demo: Demo, error: BaseException) -> None:
    logger.warning("demo %s withdrawn: its launch could not be queued: %s", demo.id, error)
    AuditEntry.objects.filter(demo_id=demo.id, action=AuditEntry.Action.LAUNCHED).delete()
    _audit(demo.owner, AuditEntry.Action.REFUSED, None, f"{demo.kind}: the task queue is down")
    demo.delete()


@transaction.atomic
def _reserve(user: AbstractBaseUser, kind: str, team: Team | None) -> Demo:
    _check_limits(user)
    demo = Demo.objects.create(
        kind=kind,
        owner=user,
        team=team,
        expires=timezone.now() + timedelta(minutes=settings.TOPOLOGY_DEMO_TTL_MINUTES),
        progress_at=timezone.now(),
    )
    _audit(user, AuditEntry.Action.LAUNCHED, demo)
    return demo


LAUNCH_LOCK = "demo-launches"


def _check_limits(user: AbstractBaseUser) -> None:
    """Refuse a launch over the user's quota or the installation's cap. Called in the launch's
    transaction, which holds the launch lock until it ends: launches are counted one at a time,
    so two at once cannot both see room for one. Failed demos count against neither."""
    locks.serialized(LAUNCH_LOCK)
    active = list(Demo.objects.filter(status__in=Demo.ACTIVE))
    mine = sum(1 for demo in active if demo.owner_id == user.pk)
    if mine >= settings.TOPOLOGY_DEMO_QUOTA:
        raise DemoRefused(
            f"You already have {mine} running demos (the limit is "
            f"{settings.TOPOLOGY_DEMO_QUOTA}); delete one first."
        )
    if len(active) >= settings.TOPOLOGY_DEMO_MAX_RUNNING:
        raise DemoRefused(
            f"{len(active)} demos are running on this installation, the most it allows; "
            "try again when one ends."
        )


def request_retry(user: AbstractBaseUser, demo: Demo, dispatch: Dispatch | None = None) -> Demo:
    """Launch a failed demo again: the same kind for the same team, by ``user`` under the same
    rules as a new launch (quota, cap), from a clean slate, and ``dispatch`` it. Refusals are
    audited; when the launch cannot be queued the demo is failed again, saying so."""
    try:
        demo = _restart(user, demo)
    except DemoRefused as refusal:
        _audit(user, AuditEntry.Action.REFUSED, demo, f"{demo.kind} again: {refusal}")
        raise
    if dispatch is not None:
        try:
            dispatch(str(demo.id))
        except Exception as error:
            mark_failed(demo, "Trying again did not start: the task queue (Redis) did not answer.")
            raise QueueDown(QUEUE_DOWN.format(what="launched")) from error
    _publish(demo)
    return demo


@transaction.atomic
def _restart(user: AbstractBaseUser, demo: Demo) -> Demo:
    demo = Demo.objects.select_for_update().get(pk=demo.pk)
    if demo.status != Demo.Status.FAILED:
        raise DemoNotFailed(f"This demo is {demo.status}; only a failed demo can be tried again.")
    _check_limits(user)
    demo.owner = user
    demo.status = Demo.Status.STARTING
    demo.step = ""
    demo.steps_done = 0
    demo.error = demo.notes = demo.profile = demo.nested_endpoint = ""
    demo.expires = timezone.now() + timedelta(minutes=settings.TOPOLOGY_DEMO_TTL_MINUTES)
    demo.progress_at = timezone.now()
    demo.save()
    _audit(user, AuditEntry.Action.LAUNCHED, demo, "tried again")
    return demo


def record_step(demo: Demo, step: str) -> None:
    """A launch step begins: the one before it is done."""
    keys = [key for key, _label in STEPS[Demo.Kind(demo.kind)]]
    demo.step = step
    demo.steps_done = keys.index(step)
    demo.progress_at = timezone.now()
    demo.save(update_fields=["step", "steps_done", "progress_at"])
    _publish(demo)


def record_note(demo: Demo, text: str, *, update: bool = False) -> None:
    """Something the launch did that the progress shows (where the images came from);
    ``update`` replaces the line recorded last (``Building…`` becomes ``Built``)."""
    lines = demo.notes.splitlines()
    if update and lines:
        lines.pop()
    demo.notes = "\n".join([*lines, " ".join(text.split())[:500]])
    demo.progress_at = timezone.now()
    demo.save(update_fields=["notes", "progress_at"])
    _publish(demo)


def mark_running(demo: Demo, profile: str | None, nested_endpoint: str | None) -> None:
    demo.status = Demo.Status.RUNNING
    demo.steps_done = len(STEPS[Demo.Kind(demo.kind)])
    demo.step = ""
    demo.profile = profile or ""
    demo.nested_endpoint = nested_endpoint or ""
    demo.save(update_fields=["status", "steps_done", "step", "profile", "nested_endpoint"])
    _publish(demo)


def stalled_launches(silent_since: datetime) -> QuerySet[Demo]:
    """Demos still starting whose launch has said nothing since ``silent_since``."""
    silent = Q(progress_at__lt=silent_since) | Q(progress_at__isnull=True, created__lt=silent_since)
    return Demo.objects.select_related("owner").filter(silent, status=Demo.Status.STARTING)


def mark_failed(demo: Demo, error: str) -> None:
    demo.status = Demo.Status.FAILED
    demo.error = error[:2000]
    demo.save(update_fields=["status", "error"])
    _audit(demo.owner, AuditEntry.Action.FAILED, demo, error[:500])
    _publish(demo)


def request_teardown(
    user: AbstractBaseUser | None, demo: Demo, dispatch: Dispatch | None = None
) -> Demo:
    """Mark the demo ``stopping`` and ``dispatch`` its tear-down; when that cannot be queued,
    the demo stays as it was (``QueueDown``)."""
    before = demo.status
    with transaction.atomic():
        demo.status = Demo.Status.STOPPING
        demo.save(update_fields=["status"])
        entry = _audit(user, AuditEntry.Action.DELETED if user else AuditEntry.Action.REAPED, demo)
    if dispatch is not None:
        try:
            dispatch(str(demo.id))
        except Exception as error:
            with transaction.atomic():
                demo.status = before
                demo.save(update_fields=["status"])
                entry.delete()
            raise QueueDown(QUEUE_DOWN.format(what="removed")) from error
    _publish(demo)
    return demo


def forget(demo: Demo) -> None:
    """Tear-down finished: the demo is gone (the audit log keeps its story)."""
    description = {**describe(demo), "status": "removed"}
    demo.delete()
    _publish(demo, event="removed", description=description)


def record_reaped_orphan(demo_id: str) -> None:
    """The reaper removed an expired demo the database no longer knew."""
    AuditEntry.objects.create(
        actor_name="reaper", action=AuditEntry.Action.REAPED, demo_id=demo_id, detail="orphan"
    )


def live_demo_owner(demo_id: str) -> int | None:
    """The owner of a starting or running demo (the id is read from an engine label)."""
    try:
        pk = uuid.UUID(demo_id)
    except (ValueError, TypeError, AttributeError):
        return None
    live = Demo.objects.filter(pk=pk, status__in=[Demo.Status.STARTING, Demo.Status.RUNNING])
    return live.values_list("owner_id", flat=True).first()


def existing_demo_ids(ids: set[str]) -> set[str]:
    """Which of these demo ids (read from engine labels: untrusted) name a demo we have."""
    wanted = set()
    for text in ids:
        try:
            wanted.add(uuid.UUID(text))
        except (ValueError, TypeError, AttributeError):
            continue
    if not wanted:
        return set()
    return {str(pk) for pk in Demo.objects.filter(pk__in=wanted).values_list("pk", flat=True)}


def shown_facts(facts: DemoFacts) -> dict[str, Any]:
    """A demo's facts as its viewers may see them: through the host's socket a DooD container
    sees every container and image on the host, other teams' too; of those only counts are
    given (``ps_inside_count``, ``host_images``), never names or ids."""
    demo_ids = {child.container_id for child in facts.children}
    demo_ids |= {facts.main.container_id} if facts.main else set()
    mine = [item for item in facts.listed_inside if item.container_id in demo_ids]
    shown = asdict(facts)
    for private in ("listed_inside", "host_cache", "inside_cache"):
        shown.pop(private)
    if facts.kind == "dood":
        shown["ps_inside"] = sorted(item.name for item in mine)
    shown["ps_inside_count"] = len(facts.listed_inside)
    return shown


def local_engine(read_timeout: float) -> DockerClient:
    """A client of the engine demos run on (``DOCKER_HOST``), as the engine layer opens one."""
    address = EngineAddress(
        settings.DOCKER_HOST, insecure=settings.DOCKER_HOST_INSECURE, read_timeout=read_timeout
    )
    return open_client(address)


def facts(demo: Demo) -> DemoFacts | None:
    """What the engines say about this demo now; None when the engine does not answer."""
    try:
        client = local_engine(read_timeout=10)
        try:
            return demo_facts(client, str(demo.id))
        finally:
            client.close()
    except Exception as error:
        logger.warning("could not read facts of demo %s: %s", demo.id, error)
        return None


class BuildRefused(Exception):
    """A build experiment that cannot start now; the message says why."""


#: A build still queued or running after this long was lost (a worker died): a new one may start.
BUILD_ABANDONED_AFTER = timedelta(minutes=10)


def request_build(
    user: AbstractBaseUser, demo: Demo, dispatch: Callable[[int], Any] | None = None
) -> BuildRun:
    """Queue the build experiment on a running demo, one at a time (``dispatch`` queues its
    task). Who may is the caller's check (the demo's operators). A build that cannot be queued
    fails at once, saying so (``QueueDown``), and holds no place."""
    build = _reserve_build(user, demo)
    if dispatch is not None:
        try:
            dispatch(build.pk)
        except Exception as error:
            build_failed(build, "The task queue (Redis) did not answer; nothing was built.")
            raise QueueDown(QUEUE_DOWN.format(what="built")) from error
    return build


@transaction.atomic
def _reserve_build(user: AbstractBaseUser, demo: Demo) -> BuildRun:
    demo = Demo.objects.select_for_update().get(pk=demo.pk)
    if demo.status != Demo.Status.RUNNING:
        raise BuildRefused(f"The demo is {demo.status}; builds run on a running demo.")
    pending = demo.builds.filter(status__in=BuildRun.PENDING)
    if pending.filter(requested__gt=timezone.now() - BUILD_ABANDONED_AFTER).exists():
        raise BuildRefused("A build of this demo is already under way.")
    pending.update(status=BuildRun.Status.FAILED, error="abandoned", finished=timezone.now())
    build = BuildRun.objects.create(demo=demo, requested_by=user)
    _audit(user, AuditEntry.Action.BUILT, demo)
    _publish(demo)
    return build


def build_started(build: BuildRun) -> None:
    build.status = BuildRun.Status.RUNNING
    build.save(update_fields=["status"])
    _publish(build.demo)


def build_finished(build: BuildRun, probe: BuildProbe) -> None:
    build.status = BuildRun.Status.DONE
    build.finished = timezone.now()
    build.engine_id = probe.engine_id
    build.steps = probe.second.steps
    build.first_seconds, build.second_seconds = probe.first.seconds, probe.second.seconds
    build.first_cached_steps = probe.first.cached_steps
    build.second_cached_steps = probe.second.cached_steps
    build.first_run_cached = probe.first.run_step_cached
    build.second_run_cached = probe.second.run_step_cached
    build.image_size = probe.image_size
    build.image_removed = probe.removed
    build.save()
    _publish(build.demo)


def build_failed(build: BuildRun, error: str) -> None:
    build.status = BuildRun.Status.FAILED
    build.finished = timezone.now()
    build.error = error[:2000]
    build.save(update_fields=["status", "finished", "error"])
    _publish(build.demo)


def compare(
    visible: QuerySet[Demo],
    pinned: Demo | None = None,
    may_build: Callable[[Demo], bool] = lambda demo: False,
) -> dict[str, Any]:
    """The DinD vs DooD table, read from the engines now: ``pinned`` fills its kind's column,
    the newest running demo of ``visible`` the other (or each, without ``pinned``).
    ``may_build`` says whether the asker may run a column's build experiment."""
    chosen: dict[str, Demo | None] = {}
    for kind in comparison.KINDS:
        if pinned is not None and pinned.kind == kind:
            chosen[kind] = pinned
        else:
            running = visible.filter(kind=kind, status=Demo.Status.RUNNING)
            chosen[kind] = running.order_by("-created").first()
    readable = {
        k: d for k, d in chosen.items() if d is not None and d.status == Demo.Status.RUNNING
    }
    with ThreadPoolExecutor(max_workers=2) as pool:  # engine calls only: no database in there
        read = dict(zip(readable, pool.map(lambda d: facts(d), readable.values()), strict=True))
    columns = {
        kind: comparison.Column(
            kind,
            describe(demo) if demo else None,
            read.get(kind),
            describe_build(latest_build(demo)) if demo else None,
        )
        for kind, demo in chosen.items()
    }
    return {
        "read_at": timezone.now().isoformat(),
        "columns": {
            kind: {
                "demo": column.demo,
                "read": column.facts is not None,
                "may_build": bool(demo and demo.status == Demo.Status.RUNNING and may_build(demo)),
            }
            for (kind, column), demo in zip(columns.items(), chosen.values(), strict=True)
        },
        "rows": comparison.rows(columns),
    }
