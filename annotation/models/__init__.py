from annotation.models.catalog import CategoryFacet, ImportBatch, Product, Tag, TagGroup
from annotation.models.integrations import (
    ApiToken,
    NotifiedTags,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from annotation.models.merges import TagMerge
from annotation.models.outbox import OutboxMessage
from annotation.models.preferences import UserPreference
from annotation.models.project import ProjectSettings
from annotation.models.queue import QueueEntry, QueueSkip
from annotation.models.review import ProductTag, ReviewEvent, Suggestion

__all__ = [
    "ApiToken",
    "CategoryFacet",
    "ImportBatch",
    "NotifiedTags",
    "OutboxMessage",
    "Product",
    "ProductTag",
    "ProjectSettings",
    "QueueEntry",
    "QueueSkip",
    "ReviewEvent",
    "Suggestion",
    "Tag",
    "TagGroup",
    "TagMerge",
    "UserPreference",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
]
