"""Products and import batches."""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from annotation.admin.base import ReadOnlyAdmin
from annotation.models import ImportBatch, Product, ProductTag
from training.ml.text import product_text


class ProductTagInline(admin.TabularInline):
    # Decisions are made in the review UI, which writes the audit events.
    model = ProductTag
    fields = ("tag", "state", "source", "decided_by", "decided_at", "score")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductTag]:
        return super().get_queryset(request).select_related("tag__group", "decided_by")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("external_id", "title", "language", "is_eval", "reviewed_at", "updated_at")
    list_filter = ("language", "is_eval")
    search_fields = ("external_id", "title")
    readonly_fields = (
        "normalized_text",
        "content_hash",
        "import_batch",
        "reviewed_at",
        "created_at",
        "updated_at",
    )
    inlines = (ProductTagInline,)
    # An image address typed without a scheme is taken as https (Django 6's default).
    formfield_overrides: ClassVar[dict[type[models.Field], dict[str, Any]]] = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }
    list_per_page = 50
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        obj.normalized_text = product_text(obj.title, obj.description)
        # A hand edit differs from the file it came from: forget the import
        # fingerprint so the next import of that file writes the row again.
        obj.content_hash = ""
        super().save_model(request, obj, form, change)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "source",
        "status",
        "rows_created",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
        "created_by",
        "started_at",
    )
    list_filter = ("status",)
    search_fields = ("source",)
    # The created facets and tags would render as one unbounded list; the
    # import's result page shows the first of them.
    exclude = (
        "errors",
        "errors_omitted",
        "stored_file",
        "heartbeat_at",
        "created_facets",
        "created_tags",
        "created_recorded",
    )
    readonly_fields = (
        "source",
        "status",
        "keep_valid",
        "created_by",
        "rows_total",
        "rows_created",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
        "file_size",
        "stage",
        "progress",
        "started_at",
        "finished_at",
        "error_table",
    )

    @admin.display(description=_("Errors"))
    def error_table(self, obj: ImportBatch) -> str:
        if not obj.errors:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((e.get("line") or _("file"), e.get("reason", "")) for e in obj.errors),
        )
        if obj.errors_omitted:
            more = _("… and %(count)s more errors") % {"count": f"{obj.errors_omitted:,}"}
            rows += format_html("<tr><td></td><td>{}</td></tr>", more)
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("Line"),
            _("Reason"),
            rows,
        )
