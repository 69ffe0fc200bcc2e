"""Celery tasks: thin wrappers around ``polling``. Polls run on their own queue ("poll",
see ``CELERY_TASK_ROUTES``)."""

from __future__ import annotations

from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from topology.inventory import polling, services
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
    result = polling.poll_target(polling.Target.from_dict(target))
    known = set(Daemon.objects.values_list("container__container_id", flat=True))
    for nested in result.nested:
        if nested.place.container_hex not in known:
            poll_daemon.apply_async((nested.to_dict(),), expires=_expiry())
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
    """Beat's entry point: one ``poll_daemon`` per known daemon, then prune what expired."""
    targets = polling.root_targets() + polling.known_nested_targets()
    for target in targets:
        poll_daemon.apply_async((target.to_dict(),), expires=_expiry())
    services.prune_stale()
    return len(targets)


def _expiry() -> float:
    return max(2 * settings.TOPOLOGY_POLL_SECONDS, 5.0)
