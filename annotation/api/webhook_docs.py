"""The webhook events Tagger sends, for the OpenAPI schema's `webhooks` section
(SPECTACULAR_SETTINGS["WEBHOOKS"]). The payloads are built in
annotation.services.webhooks; tests/api/test_webhook_events.py checks that what
is sent validates against these schemas."""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from annotation.api.imports import CREATED_EXAMPLE, ImportCreatedSerializer
from annotation.models import ImportBatch, WebhookEvent

HEADERS = """Every delivery is a signed POST (Standard Webhooks): `webhook-id` (the same for
every attempt of one delivery), `webhook-timestamp` and `webhook-signature`
(`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with the hook's secret),
plus `X-Tagger-Event` (the event type) and `X-Tagger-Delivery`. Answer 2xx; any
other answer is retried with backoff. A hook receives only the event types in
its `events` list."""
SENT_AT = "2026-01-31T12:00:00.000000+00:00"


class _Envelope(serializers.Serializer):
    sent_at = serializers.DateTimeField()


class ProductTagsSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The product's external id")
    tags = serializers.ListField(child=serializers.CharField(), help_text="facet:value keys")


class TagsChangedEventSerializer(_Envelope):
    event = serializers.ChoiceField(choices=[WebhookEvent.TAGS_CHANGED.value])
    products = ProductTagsSerializer(
        many=True, help_text="Each changed product with its complete set of approved tags"
    )


class TagsApprovedEventSerializer(_Envelope):
    event = serializers.ChoiceField(choices=[WebhookEvent.TAGS_APPROVED.value])
    products = ProductTagsSerializer(
        many=True, help_text="The tags each product gained since the last notification"
    )


class TagsRemovedEventSerializer(_Envelope):
    event = serializers.ChoiceField(choices=[WebhookEvent.TAGS_REMOVED.value])
    products = ProductTagsSerializer(
        many=True, help_text="The tags each product lost since the last notification"
    )


class PromotedVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mode = serializers.CharField()
    base_model = serializers.CharField()
    promoted_at = serializers.DateTimeField()
    previous_id = serializers.IntegerField(
        allow_null=True, help_text="The version that was active before"
    )


class ModelPromotedEventSerializer(_Envelope):
    event = serializers.ChoiceField(choices=[WebhookEvent.MODEL_PROMOTED.value])
    model_version = PromotedVersionSerializer()


class FinishedImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[ImportBatch.Status.SUCCEEDED.value, ImportBatch.Status.FAILED.value]
    )
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.source
    rows_total = serializers.IntegerField()
    rows_created = serializers.IntegerField()
    rows_updated = serializers.IntegerField()
    rows_unchanged = serializers.IntegerField()
    rows_rejected = serializers.IntegerField()
    finished_at = serializers.DateTimeField(allow_null=True)
    created = ImportCreatedSerializer(
        help_text="The facets and tags the import created, as GET /api/v1/imports/{id}/ "
        "answers them (zero when it failed)"
    )


class ImportFinishedEventSerializer(_Envelope):
    event = serializers.ChoiceField(choices=[WebhookEvent.IMPORT_FINISHED.value])
    # `import` is a Python keyword: the field is declared under its JSON name below.


ImportFinishedEventSerializer._declared_fields["import"] = FinishedImportSerializer()

PAYLOADS: dict[str, type[serializers.Serializer]] = {
    WebhookEvent.TAGS_CHANGED.value: TagsChangedEventSerializer,
    WebhookEvent.TAGS_APPROVED.value: TagsApprovedEventSerializer,
    WebhookEvent.TAGS_REMOVED.value: TagsRemovedEventSerializer,
    WebhookEvent.MODEL_PROMOTED.value: ModelPromotedEventSerializer,
    WebhookEvent.IMPORT_FINISHED.value: ImportFinishedEventSerializer,
}

EXAMPLES: dict[str, dict] = {
    WebhookEvent.TAGS_CHANGED.value: {
        "event": "tags.changed",
        "sent_at": SENT_AT,
        "products": [{"id": "sku-1001", "tags": ["color:red", "material:cotton"]}],
    },
    WebhookEvent.TAGS_APPROVED.value: {
        "event": "tags.approved",
        "sent_at": SENT_AT,
        "products": [{"id": "sku-1001", "tags": ["material:cotton"]}],
    },
    WebhookEvent.TAGS_REMOVED.value: {
        "event": "tags.removed",
        "sent_at": SENT_AT,
        "products": [{"id": "sku-1001", "tags": ["color:blue"]}],
    },
    WebhookEvent.MODEL_PROMOTED.value: {
        "event": "model.promoted",
        "sent_at": SENT_AT,
        "model_version": {
            "id": 7,
            "mode": "head",
            "base_model": "multilingual-e5-small",
            "promoted_at": SENT_AT,
            "previous_id": 6,
        },
    },
    WebhookEvent.IMPORT_FINISHED.value: {
        "event": "import.finished",
        "sent_at": SENT_AT,
        "import": {
            "id": 12,
            "status": "succeeded",
            "source": "catalogue.jsonl",
            "rows_total": 1200,
            "rows_created": 1000,
            "rows_updated": 150,
            "rows_unchanged": 50,
            "rows_rejected": 0,
            "finished_at": SENT_AT,
            "created": CREATED_EXAMPLE,
        },
    },
}

SUMMARIES = {
    WebhookEvent.TAGS_CHANGED.value: "Products' approved tags changed (their complete sets)",
    WebhookEvent.TAGS_APPROVED.value: "Tags were approved on products (the tags gained)",
    WebhookEvent.TAGS_REMOVED.value: "Tags were removed from products (the tags lost)",
    WebhookEvent.MODEL_PROMOTED.value: "A model version became the active one",
    WebhookEvent.IMPORT_FINISHED.value: "A product import succeeded or failed",
}


def _webhook(event: str) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=event,
        decorator=extend_schema(
            summary=SUMMARIES[event],
            description=HEADERS,
            request=PAYLOADS[event],
            responses={
                200: OpenApiResponse(description="Received (any 2xx)"),
                "4XX": OpenApiResponse(description="Refused: retried with backoff"),
            },
        ),
    )


TAGS_CHANGED = _webhook(WebhookEvent.TAGS_CHANGED.value)
TAGS_APPROVED = _webhook(WebhookEvent.TAGS_APPROVED.value)
TAGS_REMOVED = _webhook(WebhookEvent.TAGS_REMOVED.value)
MODEL_PROMOTED = _webhook(WebhookEvent.MODEL_PROMOTED.value)
IMPORT_FINISHED = _webhook(WebhookEvent.IMPORT_FINISHED.value)
