"""The review page's layout of one product's tags: which are shown, pre-ticked
(and why) and keyed. The rule itself is training.ml.review_policy.layout, plain
code the review-effort bench replays too; this module feeds it the page's state."""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from annotation.models import Suggestion
from annotation.services.active_model import ModelVersion
from annotation.services.review.state import TagView
from annotation.services.taxonomy import snapshot
from training.ml.review_policy import (
    Candidate,
    Policy,
    Reason,
    bar_pool,
    layout,
    names_tag,
    precision_bar,
)

# The bar is read from at most this many of the version's suggestions (the
# newest), and kept this long: a re-scoring under way moves it a little, never
# per page view.
BAR_SAMPLE = 50_000
BAR_SECONDS = 300


@dataclass(frozen=True)
class ShownTag:
    view: TagView
    ticked: bool
    reason: Reason | None
    key: str | None
    threshold: float | None


def _shared_names(text: str, views: list[TagView], taxonomy: snapshot.Taxonomy) -> set[str]:
    """Of the words the zero-shot evidence points at, those that name more than
    one active tag (casefolded)."""
    forms = {text[s:e].casefold() for v in views for s, e in v.evidence if e > s}
    return forms & taxonomy.shared_names


def pretick_precision() -> float:
    return float(getattr(settings, "TAGGER_PRETICK_PRECISION", 0.9))


def pretick_bar(version: ModelVersion) -> float:
    """The new rule's bar for a trained version (review_policy.precision_bar):
    the lowest calibrated score at which the candidates above it, over the
    products the version scored, are expected to be right at least
    pretick_precision() of the time. No labels are read: the scores are
    calibrated probabilities. Cached per version and target."""
    precision = pretick_precision()
    stamp = version.created_at.timestamp() if version.created_at else 0
    key = f"tagger:pretick-bar:{version.pk}:{stamp}:{precision}"
    bar = cache.get(key)
    if bar is None:
        rows = (
            Suggestion.objects.filter(model_version=version)
            .order_by("-id")
            .values_list("product_id", "tag__group__name", "tag__group__multi_valued", "score")[
                :BAR_SAMPLE
            ]
        )
        pool = bar_pool((p, facet, not multi, score) for p, facet, multi, score in rows)
        bar = precision_bar(pool, precision)
        cache.set(key, bar, BAR_SECONDS)
    return float(bar)


def review_layout(
    text: str,
    views: list[TagView],
    version: ModelVersion | None,
    policy: Policy = Policy.NEW,
    taxonomy: snapshot.Taxonomy | None = None,
) -> tuple[list[ShownTag], int]:
    """(the tags the page shows, in page order; how many candidates it leaves off).
    `views` come from review_state (facets in page order), `text` is the text the
    model read (Product.model_text), which the evidence spans index. A zero-shot
    model's evidence is exactly its name and alias matches: a tag counts as named
    when one of them is not also another tag's name."""
    thresholds = version.thresholds if version is not None else {}
    zero_shot = version is not None and version.mode == "zero_shot"
    shared = _shared_names(text, views, taxonomy or snapshot.current()) if zero_shot else set()
    # A zero-shot model's evidence is its name matches: every tag's, to find the
    # ones inside a longer name.
    every_match = [span for view in views for span in view.evidence] if zero_shot else []
    bar = pretick_bar(version) if version is not None and not zero_shot else None
    by_key = {view.key: view for view in views}
    candidates = []
    for view in views:
        threshold = thresholds.get(view.key)
        candidates.append(
            Candidate(
                tag=view.key,
                facet=view.facet,
                single_valued=view.single_valued,
                score=view.score,
                selected=view.suggested,
                threshold=float(threshold) if threshold is not None else None,
                named=zero_shot and names_tag(text, view.evidence, shared, every_match),
                state=view.state,
            )
        )
    facet_order = list(dict.fromkeys(view.facet for view in views))
    rows, hidden = layout(candidates, policy, pretick_precision(), zero_shot, facet_order, bar)
    shown = [
        ShownTag(
            view=by_key[row.candidate.tag],
            ticked=row.ticked,
            reason=row.reason,
            key=row.key,
            threshold=row.candidate.threshold,
        )
        for row in rows
    ]
    return shown, hidden
