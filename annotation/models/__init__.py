from annotation.models.api import ApiToken, Webhook, WebhookDelivery
from annotation.models.catalog import ImportBatch, Product, Tag, TagGroup
from annotation.models.queue import ProjectSettings, QueueEntry
from annotation.models.review import ProductTag, ReviewEvent, Suggestion

__all__ = [
    "ApiToken",
    "ImportBatch",
    "Product",
    "ProductTag",
    "ProjectSettings",
    "QueueEntry",
    "ReviewEvent",
    "Suggestion",
    "Tag",
    "TagGroup",
    "Webhook",
    "WebhookDelivery",
]
