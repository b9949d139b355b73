from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.base import ApiView
from annotation.api.permissions import CanExport
from annotation.api.serializers import FacetNameField, TagKeyField
from annotation.inputs import parse_timestamp
from annotation.services import export
from annotation.services.export import interop

FORMATS = ("json", "jsonl", "csv", "labelstudio", "labelstudio-config", "hf", "hf-card")
LABEL_STUDIO_TYPE = "application/vnd.label-studio+json"
MAX_PAGE_SIZE = 5000
PAGE_SIZE = 1000


class ExportQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS, default="json", required=False)
    cursor = serializers.CharField(required=False)
    updated_since = serializers.CharField(required=False)
    tag = TagKeyField(required=False)
    facet = FacetNameField(required=False)
    product_ids = serializers.CharField(required=False)
    category = serializers.CharField(required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)

    def validate_updated_since(self, value: str) -> object:
        parsed = parse_timestamp(value)
        if parsed is None:
            raise serializers.ValidationError(
                "Use a real ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z (years 1-9999, "
                "offsets within ±24 h)."
            )
        return parsed

    def validate_cursor(self, value: str) -> export.Cursor:
        try:
            return export.Cursor.decode(value)
        except export.BadCursor as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ExportTagSerializer(serializers.Serializer):
    tag = serializers.CharField()
    facet = serializers.CharField()
    value = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True)


class ExportRecordSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()
    changed_at = serializers.DateTimeField()
    tags = ExportTagSerializer(many=True)
    removed = ExportTagSerializer(many=True)


class LabelStudioChoicesSerializer(serializers.Serializer):
    choices = serializers.ListField(child=serializers.CharField())


class LabelStudioResultSerializer(serializers.Serializer):
    from_name = serializers.CharField(help_text="The facet")
    to_name = serializers.CharField()
    type = serializers.CharField()
    value = LabelStudioChoicesSerializer()


class LabelStudioAnnotationSerializer(serializers.Serializer):
    result = LabelStudioResultSerializer(many=True)
    was_cancelled = serializers.BooleanField()


class LabelStudioDataSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()


class LabelStudioMetaSerializer(serializers.Serializer):
    changed_at = serializers.DateTimeField()
    decided_by = serializers.ListField(child=serializers.CharField())


class LabelStudioTaskSerializer(serializers.Serializer):
    data = LabelStudioDataSerializer()  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class
    annotations = LabelStudioAnnotationSerializer(many=True)
    meta = LabelStudioMetaSerializer()


class ExportPageSerializer(serializers.Serializer):
    results = ExportRecordSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


EXPORT_DESCRIPTION = """Approved tags per product with provenance (who or what decided, when,
model version and score), one record per product, in the order the products' tags
last changed.

**Incremental sync.** A record carries the product's complete current set of
approved tags (`tags`) and the tags that were rejected or withdrawn (`removed`).
Apply a record by replacing that product's tags. Keep the largest `changed_at`
you have applied and pass it back as `updated_since` next time: you get exactly
the products changed since, whatever changed them (a review, an undo, a bulk edit,
a merge, an import). Timestamps are UTC with microseconds, so they also compare as
strings.

**Formats.** `json` is paged: follow `next_cursor` until it is null (a cursor is
stable while products change). `jsonl` (one record per line) and `csv` (one row per
product and tag; `op` is `approved` or `removed`; a product left with no approved
tag gets one `approved` row with an empty tag) stream the whole result in one
response. Tokens: `Authorization: Bearer tgr_...` with the export scope.

**Interop.** `labelstudio` streams a JSON array of Label Studio tasks (the product
as `data`, its approved tags as a completed annotation, one Choices result per
facet) and `labelstudio-config` the project's labelling config for them (a Choices
control per facet over `title`, from the active taxonomy). `hf` streams Hugging Face `datasets` rows (id, title, category, tags as
`facet:value` keys, changed_at) and `hf-card` the dataset card (README.md) for the
same rows: save them as `data/train.jsonl` and `README.md` and
`datasets.load_dataset(folder)` reads them (`tagger export --format hf --out DIR`
does both)."""


class ExportView(ApiView):
    """Approved tags per product with provenance, in change order."""

    permission_classes = (CanExport,)

    @extend_schema(
        summary="Export approved tags",
        description=EXPORT_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(FORMATS),
                description="json (paged); jsonl, csv, labelstudio, hf (streamed); "
                "labelstudio-config, hf-card",
            ),
            OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME),
            OpenApiParameter(
                "tag",
                str,
                description="facet:value (or an alias; any case); an unknown tag is a 400",
            ),
            OpenApiParameter(
                "facet", str, description="Facet name (any case); an unknown facet is a 400"
            ),
            OpenApiParameter("product_ids", str, description="comma-separated external ids"),
            OpenApiParameter("category", str, description="category path prefix"),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": PAGE_SIZE},
                description=f"Records per json page, 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE}); "
                "any other value is a 400",
            ),
        ],
        responses={
            (200, "application/json"): ExportPageSerializer,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, LABEL_STUDIO_TYPE): LabelStudioTaskSerializer(many=True),
            (200, "text/markdown"): OpenApiTypes.STR,
            (200, "application/xml"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse | StreamingHttpResponse:
        query = ExportQuery(data=request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        data = query.validated_data
        flt = export.ExportFilter(
            updated_since=data.get("updated_since"),
            # The canonical names of the tag and facet the parameters name (an
            # alias or another case too, as every tag filter of the API reads them).
            tag=data["tag"].key if "tag" in data else None,
            facet=data["facet"].name if "facet" in data else None,
            product_ids=tuple(
                p.strip() for p in data.get("product_ids", "").split(",") if p.strip()
            ),
            category=data.get("category"),
        )
        fmt = data["format"]
        if fmt == "json":
            records, cursor = export.export_page(flt, data.get("cursor"), data["page_size"])
            return Response(
                {"results": records, "next_cursor": cursor.encode() if cursor else None}
            )
        if fmt == "jsonl":
            return StreamingHttpResponse(
                export.stream_jsonl(flt, data.get("cursor")),
                content_type="application/x-ndjson; charset=utf-8",
            )
        if fmt == "labelstudio":
            return StreamingHttpResponse(
                interop.stream_label_studio(flt, data.get("cursor")),
                content_type=f"{LABEL_STUDIO_TYPE}; charset=utf-8",
            )
        if fmt == "hf":
            return StreamingHttpResponse(
                interop.stream_hf(flt, data.get("cursor")),
                content_type="application/x-ndjson; charset=utf-8",
            )
        if fmt == "labelstudio-config":
            return HttpResponse(
                interop.label_studio_config(*interop.taxonomy_for_label_studio()),
                content_type="application/xml; charset=utf-8",
            )
        if fmt == "hf-card":
            return HttpResponse(
                interop.dataset_card(flt, data.get("cursor")),
                content_type="text/markdown; charset=utf-8",
            )
        response = StreamingHttpResponse(
            export.iter_csv(export.iter_records(flt, data.get("cursor"))),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="tagger-export.csv"'
        return response
