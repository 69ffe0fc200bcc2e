"""Celery tasks: thin wrappers around ``polling``. Polls run on their own queue ("poll",
see ``CELERY_TASK_ROUTES``)."""

from __future__ import annotations

import time
from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from topology.inventory import locks, polling, services
from topology.inventory.models import Daemon

TRANSIENT = (redis.RedisError, OperationalError)


@shared_task(
    name="topology.inventory.tasks.poll_daemon",
    soft_time_limit=30,
    time_limit=45,
    autoretry_for=TRANSIENT,
    retry_backoff=0.5,
    retry_backoff_max=10,
    max_retries=3,
)
def poll_daemon(target: dict[str, Any]) -> dict[str, Any]:
    polled = polling.Target.from_dict(target)
    last = locks.last_polled([polled.route.key])[0]
    behind = time.time() - last - settings.TOPOLOGY_POLL_SECONDS if last else 0.0
    try:
        result = polling.poll_target(polled)
    finally:
        locks.clear_queued(polled.route.key)
    if result.engine_id and result.error is None:
        services.set_watch(result.engine_id, "polling", behind)
    known = set(Daemon.objects.values_list("container__container_id", flat=True))
    for nested in result.nested:
        if nested.place.container_hex not in known:
            queue_poll(nested)
    return {
        "engine_id": result.engine_id,
        "added": result.changes.added,
        "changed": result.changes.changed,
        "removed": result.changes.removed,
        "error": result.error,
        "skipped": result.skipped,
    }


@shared_task(name="topology.inventory.tasks.poll_all_daemons", time_limit=30)
def poll_all_daemons() -> int:
    """Beat's entry point: a ``poll_daemon`` for every known daemon whose last poll has run,
    the longest unread first, then prune what expired. Under overload each daemon waits for
    its turn once in the queue, so every daemon's interval stretches alike (none starves)."""
    targets = polling.root_targets() + polling.known_nested_targets()
    queued = sum(queue_poll(target) for target in polling.longest_unread_first(targets))
    services.prune_stale()
    return queued


def queue_poll(target: polling.Target) -> bool:
    """Queue a poll of ``target`` unless one is already waiting; True if queued."""
    if not locks.mark_queued(target.route.key, _waiting_at_most()):
        return False
    poll_daemon.apply_async((target.to_dict(),), expires=_waiting_at_most())
    return True


def _waiting_at_most() -> float:
    """How long a queued poll may wait (a worker lost with it: the daemon is queued again)."""
    return max(30 * settings.TOPOLOGY_POLL_SECONDS, 120.0)
