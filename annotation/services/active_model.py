"""The seam where the loop closes on the review side.

Review shows what the model proposes: the Suggestion rows of one model version.
Suggestions belong to this app; which version's suggestions to show belongs to
the training app. This module is the only one in ``annotation`` that imports
``training`` (drawn in docs/architecture.md); the rest of the app asks here.
"""

from dataclasses import dataclass

from django.db.models import F

from annotation.models import Product, Suggestion
from training.models import ModelVersion

__all__ = [
    "ModelVersion",
    "SuggestionSource",
    "active_version",
    "find_version",
    "suggestion_version_for",
]


@dataclass(frozen=True)
class SuggestionSource:
    """Whose suggestions the review page shows for a product."""

    version: ModelVersion | None  # the version whose Suggestion rows to show
    active: ModelVersion | None  # the active version

    @property
    def rescoring(self) -> bool:
        """The active version has not scored the product yet (its re-scoring of
        the catalogue is still under way): the page says so."""
        return self.active is not None and self.version != self.active


def active_version() -> ModelVersion | None:
    """The version whose suggestions review shows (None before any model exists)."""
    return ModelVersion.objects.active()


def find_version(version_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(pk=version_id).first()


def suggestion_version_for(product: Product) -> SuggestionSource:
    """The active version when it has scored the product (a scored product always
    has a row: scoring stores each product's best tag), else the most recently
    promoted earlier version that has, so that suggestions never vanish while a
    new version re-scores the catalogue."""
    active = active_version()
    if active is None:
        return SuggestionSource(None, None)
    scored_by = Suggestion.objects.filter(product=product).values("model_version")
    if scored_by.filter(model_version=active).exists():
        return SuggestionSource(active, active)
    previous = (
        ModelVersion.objects.filter(pk__in=scored_by)
        .exclude(pk=active.pk)
        .order_by(F("promoted_at").desc(nulls_last=True), "-created_at", "-pk")
        .first()
    )
    return SuggestionSource(previous, active)
