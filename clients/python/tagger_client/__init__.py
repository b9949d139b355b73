"""A Python client for the Tagger API, and the `tagger` command.

from tagger_client import Client
client = Client("https://tagger.example.com", token="tgr_...")
for record in client.export_tags(updated_since="2026-01-31T12:00:00Z"): print(record.id, [t.tag for t in record.tags])
"""

from tagger_client.client import ENDPOINTS, ApiError, Client
from tagger_client.models import (
    Claim,
    CreatedFacets,
    CreatedTags,
    ExportRecord,
    ExportTag,
    Facet,
    ImportBatch,
    ImportCreated,
    ModelVersion,
    Product,
    Tag,
    TrainingRun,
)

__all__ = [
    "ENDPOINTS",
    "ApiError",
    "Claim",
    "Client",
    "CreatedFacets",
    "CreatedTags",
    "ExportRecord",
    "ExportTag",
    "Facet",
    "ImportBatch",
    "ImportCreated",
    "ModelVersion",
    "Product",
    "Tag",
    "TrainingRun",
]
