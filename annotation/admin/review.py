"""Decisions, their audit trail, suggestions, the queue and project settings."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from annotation.admin.base import ReadOnlyAdmin
from annotation.models import ProductTag, ProjectSettings, QueueEntry, ReviewEvent, Suggestion


@admin.register(ProductTag)
class ProductTagAdmin(ReadOnlyAdmin):
    # Changes go through the review UI so every one has its ReviewEvent.
    list_display = ("product", "tag", "state", "source", "decided_by", "decided_at", "score")
    list_filter = ("state", "source", "tag__group")
    list_select_related = ("product", "tag__group", "decided_by")
    search_fields = ("product__external_id", "product__title", "tag__name")
    show_full_result_count = False


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "user",
        "action",
        "product",
        "tag",
        "previous_state",
        "new_state",
        "model_version",
    )
    list_filter = ("action", "created_at")
    list_select_related = ("user", "product", "tag__group", "model_version")
    search_fields = ("product__external_id", "user__username", "tag__name", "note")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin):
    list_display = ("product", "tag", "model_version", "score", "selected", "created_at")
    list_filter = ("selected", "model_version")
    list_select_related = ("product", "tag__group", "model_version")
    search_fields = ("product__external_id", "tag__name")
    show_full_result_count = False


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = (
        "product",
        "priority",
        "reason",
        "strategy",
        "leased_by",
        "lease_expires_at",
        "reviews_done",
        "completed_at",
    )
    list_filter = ("reason", "strategy", ("completed_at", admin.EmptyFieldListFilter))
    list_select_related = ("product", "leased_by")
    search_fields = ("product__external_id", "product__title")
    raw_id_fields = ("product", "model_version", "leased_by")
    readonly_fields = ("ranked_at",)
    show_full_result_count = False


@admin.register(ProjectSettings)
class ProjectSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "queue_strategy", "auto_retrain_after", "auto_promote", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row, created on first use by ProjectSettings.load().
        return not ProjectSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
