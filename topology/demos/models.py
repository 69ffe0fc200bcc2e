"""Demos launched from the UI, and the audit log of who launched, deleted or reaped what."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from topology.teams.models import Team


class DemoQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> DemoQuerySet:
        """The demos of ``user``'s teams and the shared ones (no team); all for site admins,
        none for anonymous users."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(Q(team__isnull=True) | Q(team__in=Team.objects.visible_to(user)))


class Demo(models.Model):
    class Kind(models.TextChoices):
        DIND = "dind", "Docker-in-Docker"
        DOOD = "dood", "Docker-out-of-Docker"

    class Status(models.TextChoices):
        STARTING = "starting"
        RUNNING = "running"
        FAILED = "failed"
        STOPPING = "stopping"

    ACTIVE = (Status.STARTING, Status.RUNNING, Status.STOPPING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="demos",
        help_text="Whose demo it is: its members see it, its operators delete it. None: shared.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTING)
    step = models.CharField(max_length=32, blank=True, help_text="The step under way or failed.")
    steps_done = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    notes = models.TextField(
        blank=True, help_text="What the launch did worth showing, a line each (the images)."
    )
    profile = models.CharField(
        max_length=32, blank=True, help_text="privileged, or the compatible profile."
    )
    nested_endpoint = models.CharField(max_length=500, blank=True)
    progress_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the launch last made progress: a launch silent for long has lost its "
        "worker, and the watchdog rolls it back.",
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()

    objects = DemoQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        permissions = [("launch_demo", "Can launch and delete demos")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} demo {str(self.id)[:8]}"


class BuildRun(models.Model):
    """The CI experiment on a demo: the same small image built twice inside it, timed."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    PENDING = (Status.QUEUED, Status.RUNNING)

    demo = models.ForeignKey(Demo, on_delete=models.CASCADE, related_name="builds")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    engine_id = models.CharField(max_length=255, blank=True, help_text="The daemon that built.")
    first_seconds = models.FloatField(null=True, blank=True)
    second_seconds = models.FloatField(null=True, blank=True)
    first_cached_steps = models.PositiveSmallIntegerField(null=True, blank=True)
    second_cached_steps = models.PositiveSmallIntegerField(null=True, blank=True)
    steps = models.PositiveSmallIntegerField(null=True, blank=True)
    first_run_cached = models.BooleanField(null=True, blank=True)
    second_run_cached = models.BooleanField(null=True, blank=True)
    image_size = models.PositiveBigIntegerField(null=True, blank=True)
    image_removed = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested"]

    def __str__(self) -> str:
        return f"build run {self.pk} of {self.demo_id} ({self.status})"


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        LAUNCHED = "launched"
        DELETED = "deleted"
        REAPED = "reaped"
        FAILED = "failed"
        REFUSED = "refused"
        BUILT = "built", "ran the build experiment"

    when = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    action = models.CharField(max_length=16, choices=Action.choices)
    demo_id = models.UUIDField(null=True, blank=True)
    demo_kind = models.CharField(max_length=8, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-when"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.when:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.demo_id}"
