"""Catalogue imports as background jobs, for admins: upload a file (as the
import page does), then follow the ImportBatch until it has finished.

`POST /api/v1/products/bulk/` stays the way to send rows as JSON and get the
outcome in the response; this is the way for files, of any size up to
TAGGER_MAX_UPLOAD_BYTES, under the same caps (docs/security.md, "Uploads")."""

from typing import Any, ClassVar

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.base import GenericApiView, ListApiView, bad_request, validated
from annotation.api.parsers import LimitedJSONParser
from annotation.api.permissions import IsTaggerAdmin
from annotation.errors import ImportFileError
from annotation.models import ImportBatch
from annotation.roles import signed_in
from annotation.services.importing import created_taxonomy, queue_import
from annotation.services.importing.created import SHOWN
from annotation.services.importing.limits import size_text
from annotation.services.importing.uploads import ALLOWED_SUFFIXES, accepted_name


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        help_text="The line (CSV, JSON Lines) or element (JSON) number; 0: the whole file"
    )
    reason = serializers.CharField()


class ImportBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    errors = ImportErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class
    progress = serializers.FloatField(help_text="Percent of the file read (100 when done)")
    stage = serializers.CharField(help_text="reading or saving while running; else empty")

    class Meta:
        model = ImportBatch
        fields: ClassVar[list[str]] = [
            "id",
            "source",
            "status",
            "stage",
            "progress",
            "file_size",
            "keep_valid",
            "rows_total",
            "rows_created",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
            "errors",
            "errors_omitted",
            "created_by",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class CreatedFacetSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


class CreatedTagSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    key = serializers.CharField(help_text="facet:value")


class IrregularFacetsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Created facets whose name breaks the rule")
    first = CreatedFacetSerializer(many=True, help_text=f"The first {SHOWN} of them, by name")


class CreatedFacetsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Facets the import created")
    first = CreatedFacetSerializer(many=True, help_text=f"The first {SHOWN} of them, by name")
    irregular = IrregularFacetsSerializer(
        help_text="Those whose name breaks the rule for facet names (letters of any script and "
        "digits, with single spaces, _, - or / between words): the import created them "
        "anyway; correct the file, or rename the facet in the admin"
    )


class CreatedTagsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Tags the import created, in any facet")
    first = CreatedTagSerializer(
        many=True, help_text=f"The first {SHOWN} of them, by facet and name"
    )


class ImportCreatedSerializer(serializers.Serializer):
    """What an import added to the taxonomy: the facets and tags it created,
    recorded as it created them; zero until it succeeded. The import.finished
    webhook carries the same (both built by importing.created)."""

    facets = CreatedFacetsSerializer()
    tags = CreatedTagsSerializer()


# What `created` looks like, for the OpenAPI examples of the import detail and of
# the import.finished webhook.
CREATED_EXAMPLE = {
    "facets": {
        "count": 1,
        "first": [{"id": 9, "name": "bogus"}],
        "irregular": {"count": 0, "first": []},
    },
    "tags": {
        "count": 2,
        "first": [{"id": 41, "key": "bogus:Nope"}, {"id": 42, "key": "color:Teal"}],
    },
}


class ImportBatchDetailSerializer(ImportBatchSerializer):
    """One import, with the facets and tags it created."""

    created = serializers.SerializerMethodField()

    class Meta(ImportBatchSerializer.Meta):
        fields: ClassVar[list[str]] = [*ImportBatchSerializer.Meta.fields, "created"]
        read_only_fields = fields

    @extend_schema_field(ImportCreatedSerializer)
    def get_created(self, batch: ImportBatch) -> dict[str, Any]:
        return created_taxonomy(batch).as_json()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            f"A catalogue file ({', '.join(ALLOWED_SUFFIXES)}, optionally .gz), at most "
            "TAGGER_MAX_UPLOAD_BYTES"
        )
    )
    keep_valid = serializers.BooleanField(
        default=False, help_text="Write the valid rows even when some are rejected"
    )

    def validate_file(self, upload: Any) -> Any:
        limit = settings.TAGGER_MAX_UPLOAD_BYTES
        if upload.size is not None and upload.size > limit:
            raise serializers.ValidationError(
                f"the file is {size_text(upload.size)}; the limit is {size_text(limit)}"
            )
        if not accepted_name(upload.name or ""):
            raise serializers.ValidationError(
                # Worded as the import page words it ("… or .json file").
                f"upload a {', '.join(ALLOWED_SUFFIXES[:-1])} or {ALLOWED_SUFFIXES[-1]} file "
                "(optionally .gz)"
            )
        return upload


class ImportListView(ListApiView):
    """Imports, newest first; POST a file to queue one."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = ImportBatchSerializer
    queryset = ImportBatch.objects.select_related("created_by")
    # JSON too, as every API view reads it: a JSON POST is then refused by the
    # CSRF check or for its missing file, like any other, not as 415.
    parser_classes = (MultiPartParser, FormParser, LimitedJSONParser)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportBatchSerializer},
    )
    def post(self, request: Request) -> Response:
        """Queue the import of a catalogue file; answers 202 at once with the
        queued batch, whose URL (Location) tells its progress and outcome."""
        data = validated(ImportUploadSerializer, request.data)
        upload = data["file"]
        try:
            batch = queue_import(
                upload,
                filename=upload.name or "upload",
                keep_valid=data["keep_valid"],
                user=signed_in(request.user),
            )
        except ImportFileError as exc:
            raise bad_request(exc.reason) from exc
        batch.refresh_from_db()
        return Response(
            ImportBatchSerializer(batch).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api:import", args=[batch.pk])},
        )


class ImportDetailView(GenericApiView):
    """One import: status, progress, counts, the first errors and, once it
    succeeded, the facets and tags it created (the list leaves those out)."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = ImportBatchDetailSerializer
    queryset = ImportBatch.objects.select_related("created_by")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)
