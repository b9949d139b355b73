"""The admin's catalogue upload: a file in, an import queued, its progress
and then its report.

The upload is stored (annotation.services.importing.uploads) and imported by a
worker; the page polls the ImportBatch, the source of truth for the progress.
The file is read as data only and deleted when its import finishes; nothing of
it is kept but the ImportBatch."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from annotation.errors import ImportFileError
from annotation.models import ImportBatch
from annotation.services import workers
from annotation.services.importing import created_taxonomy, queue_import
from annotation.services.importing.uploads import accepted_name
from annotation.views.access import SignedInRequest, admin_required

RECENT_BATCHES = 10


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Catalogue file"),
        help_text=gettext_lazy("CSV, JSON Lines or JSON; may be gzipped (.gz)."),
    )
    keep_valid = forms.BooleanField(
        label=gettext_lazy("Import the valid rows even if some rows are rejected"),
        required=False,
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = settings.TAGGER_MAX_UPLOAD_BYTES
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(limit)s.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        if not accepted_name(upload.name or ""):
            raise forms.ValidationError(
                _("Upload a .csv, .tsv, .jsonl, .ndjson or .json file (optionally .gz).")
            )
        return upload


def _page(
    request: HttpRequest, form: ImportForm, status: int = 200, error: str = ""
) -> HttpResponse:
    recent = list(ImportBatch.objects.select_related("created_by")[:RECENT_BATCHES])
    context: dict[str, Any] = {
        "form": form,
        "error": error,
        "max_bytes": settings.TAGGER_MAX_UPLOAD_BYTES,
        "recent": recent,
        "active": [batch for batch in recent if batch.is_active],
    }
    return render(request, "annotation/import.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def import_view(request: SignedInRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, ImportForm())
    # A body far over the limit never gets here: tagger.body_limit answers 413.
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    upload: UploadedFile = form.cleaned_data["file"]
    try:
        batch = queue_import(
            upload,
            filename=upload.name or "upload",
            keep_valid=form.cleaned_data["keep_valid"],
            user=request.user,
        )
    except ImportFileError as exc:
        return _page(request, form, status=400, error=exc.reason)
    return redirect("annotation:import_batch", batch_id=batch.pk)


@admin_required
@require_GET
def import_batch(request: SignedInRequest, batch_id: int) -> HttpResponse:
    """One import: its progress while it runs, then its counts and errors."""
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=batch_id)
    return render(request, "annotation/import_batch.html", _batch_context(batch))


@admin_required
@require_GET
def import_progress(request: SignedInRequest, batch_id: int) -> HttpResponse:
    """The fragment htmx polls every 2 s while the import is queued or running;
    once it has finished it answers once more, with the outcome and no polling."""
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=batch_id)
    return render(request, "annotation/_import_progress.html", _batch_context(batch))


def _batch_context(batch: ImportBatch) -> dict[str, Any]:
    """The batch; while it waits in the queue, whether any worker will take it;
    once it succeeded, the facets and tags it created."""
    missing = None
    if batch.status == ImportBatch.Status.QUEUED:
        missing = workers.missing_for_page(None, batch.started_at)
    return {"batch": batch, "missing_worker": missing, "created": created_taxonomy(batch)}
