"""The Celery app: configuration from Django settings, tasks autodiscovered, beat schedule."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.beat import PersistentScheduler

from topology.environment import settings_or_exit
from topology.outages import Outage

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topology.settings")

app = Celery("topology")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def settings_first(sender: Celery, **kwargs: object) -> None:
    """A misconfiguration stops the worker or beat with one line, before Celery reads it."""
    settings_or_exit("celery")


@app.on_after_finalize.connect
def schedule_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    if settings.TOPOLOGY_INVENTORY_MODE == "poll":
        sender.add_periodic_task(
            settings.TOPOLOGY_POLL_SECONDS,
            sender.signature("topology.inventory.tasks.poll_all_daemons"),
            name="poll every daemon",
        )
    sender.add_periodic_task(
        60.0, sender.signature("topology.demos.tasks.reap_expired_demos"), name="reap expired demos"
    )
    sender.add_periodic_task(
        60.0,
        sender.signature("topology.demos.tasks.roll_back_stalled_launches"),
        name="roll back stalled launches",
    )


class OutageAwareScheduler(PersistentScheduler):
    """Beat's scheduler (the schedule kept in ``CELERY_BEAT_SCHEDULE_FILENAME``) that says once
    that the task queue stopped taking tasks and once that it takes them again, where Celery's
    own logs an error and a stack for every due task, every period. Beat never exits for it."""

    queue = Outage("Redis (the task queue)", logger, "beat keeps time; due tasks wait")

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as error:
            self.queue.failed(error)
        else:
            self.queue.answered()
