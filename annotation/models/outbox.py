from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A Celery task to send once the transaction that wrote this row commits.

    Written in the same transaction as the data the task acts on, so a task is
    never sent for data that rolled back and never lost for data that committed:
    `annotation.services.outbox` sends it after the commit, and its periodic
    sweep sends whatever is still pending (the broker was down)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DISPATCHED = "dispatched", _("Dispatched")
        # Refused for good (an unknown task; a training the broker refused, which
        # was recorded as failed and must never start later): never resent.
        FAILED = "failed", _("Failed")

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # apply_async options that travel with the message (a queue name).
    options = models.JSONField(default=dict, blank=True)
    # Not to run before this moment (a webhook retry's backoff): sent as the eta.
    not_before = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # A dispatcher sending it holds it until then (one that died frees it then).
    claimed_until = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering: ClassVar[list[str]] = ["id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "id"], name="outbox_status_id"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk} ({self.status})"
