"""The Celery app: configuration from Django settings, tasks autodiscovered, beat schedule."""

from __future__ import annotations

import os

from celery import Celery

from topology.environment import settings_or_exit

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

    sender.add_periodic_task(
        settings.TOPOLOGY_POLL_SECONDS,
        sender.signature("topology.inventory.tasks.poll_all_daemons"),
        name="poll every daemon",
    )
    sender.add_periodic_task(
        60.0, sender.signature("topology.demos.tasks.reap_expired_demos"), name="reap expired demos"
    )
