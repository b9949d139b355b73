"""The admin's catalogue upload: a file in, the import service, a report out.

The upload is copied into an anonymous temporary file for the length of the
request and read as data only; nothing of it is kept but the ImportBatch."""

import tempfile
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from annotation.models import ImportBatch
from annotation.services.importing import import_products
from annotation.views.access import admin_required

ALLOWED_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json")
RECENT_BATCHES = 10
# Multipart framing around the file itself.
_ENVELOPE_BYTES = 64 * 1024


def _suffix_ok(name: str) -> bool:
    lower = name.lower().removesuffix(".gz")
    return PurePath(lower).suffix in ALLOWED_SUFFIXES


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
        if not _suffix_ok(upload.name or ""):
            raise forms.ValidationError(
                _("Upload a .csv, .tsv, .jsonl, .ndjson or .json file (optionally .gz).")
            )
        return upload


def _page(
    request: HttpRequest, form: ImportForm, status: int = 200, error: str = ""
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "error": error,
        "max_bytes": settings.TAGGER_MAX_UPLOAD_BYTES,
        "recent": ImportBatch.objects.select_related("created_by")[:RECENT_BATCHES],
    }
    return render(request, "annotation/import.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, ImportForm())
    # Refuse an oversized body before Django reads it into a temporary file.
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    limit = settings.TAGGER_MAX_UPLOAD_BYTES
    if declared > limit + _ENVELOPE_BYTES:
        error = _("The file is over the limit of %(limit)s.") % {"limit": filesizeformat(limit)}
        return _page(request, ImportForm(), status=413, error=error)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    upload: UploadedFile = form.cleaned_data["file"]
    with tempfile.TemporaryFile() as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.seek(0)
        result = import_products(
            copy,
            filename=upload.name,
            keep_valid=form.cleaned_data["keep_valid"],
            user=request.user,  # type: ignore[arg-type]
        )
    return render(request, "annotation/import_result.html", {"result": result})
