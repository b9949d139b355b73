"""Scoring the catalogue: one version's predictions written as Suggestions."""

import logging
from collections.abc import Callable, Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import Product, Suggestion, Tag
from annotation.services.taxonomy.categories import effective_schema
from training import jobs
from training.ml.review_policy import stored
from training.ml.types import TagSpec
from training.models import ModelVersion
from training.services import categories
from training.services.versions import ensure_zero_shot_version, load_model

logger = logging.getLogger(__name__)

# Which scores are stored is review_policy.stored: those at least its
# STORED_MIN_SCORE (ranking reads a missing row as 0), every selected tag, and
# each facet's best few (the review page offers them under keys). The best tag of
# each product is always stored, so "has a suggestion for this version" means
# "was scored by it".


def score_products(
    version: ModelVersion,
    product_ids: Sequence[int],
    chunk_size: int = 256,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write the version's Suggestions for these products; returns rows written.
    `on_progress(n)` hears each committed chunk of n products.

    Idempotent: each chunk replaces the version's earlier rows for its products
    in one transaction, so re-running leaves the same rows."""
    model = load_model(version)
    # A tag merged since training scores for the tag it was merged into; a
    # deprecated tag or one renamed away is dropped.
    tag_ids = Tag.objects.current_ids(model.tag_vocab)
    # Category-aware proposals: a product whose category is known (approved) or
    # sure (scored at least 0.5) keeps only the facets its category allows; the
    # others are not stored, so they count as 0, are never ticked or keyed.
    schema = effective_schema(version.category_schema)
    written = 0
    ids = list(product_ids)
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        products = list(
            Product.objects.filter(pk__in=chunk).only(
                "id", "normalized_text", "title", "description"
            )
        )
        if not products:
            if on_progress is not None:
                on_progress(len(chunk))
            continue
        predictions = model.predict([p.model_text for p in products], min_score=0.0)
        if schema is not None:
            approved = categories.approved_categories(schema, chunk)
            predictions = [
                categories.mask(schema, preds, approved.get(product.pk))
                for product, preds in zip(products, predictions, strict=True)
            ]
        rows: list[Suggestion] = []
        for product, preds in zip(products, predictions, strict=True):
            best: dict[int, Suggestion] = {}
            keep = stored(
                [TagSpec.from_key(p.tag).facet for p in preds],
                [p.score for p in preds],
                [p.selected for p in preds],
            )
            for pred, kept in zip(preds, keep, strict=True):
                tag_id = tag_ids.get(pred.tag)
                if tag_id is None or tag_id in best:
                    # Sorted by score: a merged tag keeps its best-scoring source.
                    continue
                if not kept:
                    continue
                best[tag_id] = Suggestion(
                    product_id=product.pk,
                    tag_id=tag_id,
                    model_version=version,
                    score=float(pred.score),
                    selected=bool(pred.selected),
                    evidence=[[int(a), int(b)] for a, b in pred.evidence],
                )
            rows.extend(best.values())
        with transaction.atomic():
            Suggestion.objects.filter(
                model_version=version, product_id__in=[p.pk for p in products]
            ).delete()
            Suggestion.objects.bulk_create(rows, batch_size=500)
        written += len(rows)
        if on_progress is not None:
            on_progress(len(chunk))
    return written


def pending_products(version: ModelVersion) -> QuerySet[Product]:
    """Products the version has not scored yet, or changed since it did (a
    product is scored when it has a suggestion at least as new as its update)."""
    fresh = Suggestion.objects.filter(
        model_version=version, product=OuterRef("pk"), created_at__gte=OuterRef("updated_at")
    )
    return Product.objects.filter(~Exists(fresh))


def pending_product_ids(version: ModelVersion) -> list[int]:
    return list(pending_products(version).order_by("id").values_list("id", flat=True))


def ensure_initial_scoring() -> ModelVersion | None:
    """Make sure the catalogue has suggestions from some model: build the
    zero-shot version when no version exists, then (after commit) score what is
    not scored yet and rank the queue. Loads the encoder; for commands and
    workers."""
    version = ModelVersion.objects.active()
    if version is None:
        version = ensure_zero_shot_version()
    if version is None:
        logger.info("no tags yet: nothing to score")
        return None
    jobs.score_catalog(version.pk)  # sent after the commit, through the outbox
    return version
