"""The seam where the loop closes on the review side.

Review shows what the model proposes: the Suggestion rows of one model version.
Suggestions belong to this app; which version's suggestions to show belongs to
the training app. This module is the only one in ``annotation`` that imports
``training`` (drawn in docs/architecture.md); the rest of the app asks here.
"""

from dataclasses import dataclass

from django.db.models import F

from annotation.models import Product, Suggestion
from annotation.services.process_copy import ProcessCopy
from training.models import ModelVersion

__all__ = [
    "ModelVersion",
    "SuggestionSource",
    "active_version",
    "find_version",
    "suggestion_version_for",
    "versions_changed",
    "watch_versions",
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


def _read_active() -> ModelVersion | None:
    return ModelVersion.objects.active()


# Every review page and submit asks for the active version; it changes when an
# admin promotes or rolls back, or a first model becomes active.
_active = ProcessCopy("active-version", _read_active)


def active_version() -> ModelVersion | None:
    """The version whose suggestions review shows (None before any model exists).

    This process's copy, shared between requests: read it, never change it."""
    return _active.current()


def versions_changed() -> None:
    """Model versions were updated in bulk (a queryset update sends no signal):
    the active version may be another one now."""
    _active.changed()


def watch_versions() -> None:
    """Renew the active version's copies on every saved or deleted version."""
    _active.watch(ModelVersion)


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
