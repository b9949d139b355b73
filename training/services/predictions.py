"""Predictions made outside Tagger (another model, a vendor, a rules engine)
imported as suggestions, the way Label Studio takes `predictions` with a
`model_version` and a `score`.

Each named source is a model version of its own (mode and status `external`):
its suggestions are stored like a trained version's, read through
`GET /api/v1/products/<id>/suggestions/?model_version=<id>` and exported with
their scores, but it has no model files, so it is never scored with, measured
or promoted. Importing under the same name again updates its suggestions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction

from annotation.inputs import has_control_characters
from annotation.models import Product, Suggestion, Tag
from training.errors import TrainingError
from training.models import ModelVersion

MAX_PREDICTIONS = 10_000
MAX_NAME_LENGTH = 200
ERRORS_SHOWN = 100


class InvalidPredictions(TrainingError):
    """The request as a whole cannot be imported (a bad name, too many rows)."""


@dataclass(frozen=True)
class Prediction:
    product: str  # the product's external id
    tag: str  # facet:value
    score: float


@dataclass
class PredictionsResult:
    version: ModelVersion
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _check(name: str, predictions: Sequence[Prediction], threshold: float) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or has_control_characters(name):
        raise InvalidPredictions(
            f"the model version name must be 1 to {MAX_NAME_LENGTH} printable characters"
        )
    if len(predictions) > MAX_PREDICTIONS:
        raise InvalidPredictions(f"at most {MAX_PREDICTIONS} predictions per import")
    if not 0.0 <= threshold <= 1.0:
        raise InvalidPredictions("the threshold must be between 0 and 1")
    return name


def external_version(name: str, user: User | None = None) -> ModelVersion:
    """The external version called `name`, created on first use."""
    version = ModelVersion.objects.filter(mode=ModelVersion.Mode.EXTERNAL, base_model=name).first()
    if version is None:
        version = ModelVersion.objects.create(
            mode=ModelVersion.Mode.EXTERNAL,
            status=ModelVersion.Status.EXTERNAL,
            base_model=name,
            created_by=user,
        )
    return version


def import_predictions(
    name: str,
    predictions: Sequence[Prediction],
    *,
    threshold: float = 0.5,
    user: User | None = None,
) -> PredictionsResult:
    """Store `predictions` as suggestions of the external version `name`: a
    suggestion is `selected` (pre-ticked) when its score reaches `threshold`.
    Rows naming an unknown product or tag, or with a score outside 0-1, are
    rejected with their index; the others are saved."""
    name = _check(name, predictions, threshold)
    products = dict(
        Product.objects.filter(external_id__in={p.product for p in predictions}).values_list(
            "external_id", "pk"
        )
    )
    tags = Tag.objects.current_ids({p.tag for p in predictions})
    with transaction.atomic():
        version = external_version(name, user)
        result = PredictionsResult(version=version)
        rows: dict[tuple[int, int], Suggestion] = {}
        for index, prediction in enumerate(predictions):
            reason = _problem(prediction, products, tags)
            if reason:
                result.rejected += 1
                if len(result.errors) < ERRORS_SHOWN:
                    result.errors.append((index, reason))
                continue
            key = (products[prediction.product], tags[prediction.tag])
            rows[key] = Suggestion(
                product_id=key[0],
                tag_id=key[1],
                model_version=version,
                score=prediction.score,
                selected=prediction.score >= threshold,
                evidence=[],
            )
        existing = _existing(version, rows)
        result.updated = len(existing)
        result.created = len(rows) - len(existing)
        Suggestion.objects.bulk_create(
            list(rows.values()),
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["product", "tag", "model_version"],
            update_fields=["score", "selected"],
        )
        vocabulary = sorted({*version.tag_vocab, *(p.tag for p in predictions if p.tag in tags)})
        version.tag_vocab = vocabulary
        version.thresholds = {**version.thresholds, **dict.fromkeys(vocabulary, threshold)}
        version.save(update_fields=["tag_vocab", "thresholds"])
    return result


def _problem(prediction: Prediction, products: dict[str, int], tags: dict[str, int]) -> str:
    if prediction.product not in products:
        return f"no product with the id {prediction.product!r}"
    if prediction.tag not in tags:
        return f"no active tag {prediction.tag!r}"
    if not (math.isfinite(prediction.score) and 0.0 <= prediction.score <= 1.0):
        return "the score must be between 0 and 1"
    return ""


def _existing(version: ModelVersion, rows: dict[tuple[int, int], Suggestion]) -> set[tuple]:
    if not rows:
        return set()
    product_ids = {product for product, _tag in rows}
    found = Suggestion.objects.filter(
        model_version=version, product_id__in=product_ids
    ).values_list("product_id", "tag_id")
    return set(found) & set(rows)
