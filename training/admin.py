from typing import ClassVar

from django.contrib import admin

from training.models import ModelVersion, TrainingRun


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    # Status changes go through promote/rollback (the models page or commands),
    # which keep one active version and re-score the catalogue.
    list_display = ("id", "mode", "status", "train_size", "micro_f1", "macro_f1", "created_at")
    list_filter = ("mode", "status")
    readonly_fields: ClassVar[list[str]] = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "mode", "status", "progress", "stage", "created_at", "finished_at")
    list_filter = ("status", "mode")
    readonly_fields: ClassVar[list[str]] = [f.name for f in TrainingRun._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
