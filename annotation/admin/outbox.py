"""The transactional outbox, for operators: what waits for the broker, what
was sent, what was refused for good. Read-only: the sweep
(`manage.py dispatch_outbox`, the beat task) sends what is pending."""

from django.contrib import admin

from annotation.admin.base import ReadOnlyAdmin
from annotation.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "task_name",
        "status",
        "attempts",
        "created_at",
        "dispatched_at",
        "last_error",
    )
    list_filter = ("status", "task_name")
    search_fields = ("task_name", "task_id")
