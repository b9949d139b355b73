"""The review page's layout of one product's tags: which are shown, pre-ticked
(and why) and keyed. The rule itself is training.ml.review_policy.layout, plain
code the review-effort bench replays too; this module feeds it the page's state."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import Lower

from annotation.models import Tag
from annotation.services.active_model import ModelVersion
from annotation.services.review.state import TagView
from training.ml.review_policy import Candidate, Policy, Reason, layout, names_tag


@dataclass(frozen=True)
class ShownTag:
    view: TagView
    ticked: bool
    reason: Reason | None
    key: str | None
    threshold: float | None


def _shared_names(text: str, views: list[TagView]) -> set[str]:
    """Of the words the zero-shot evidence points at, those that name more than
    one active tag (casefolded)."""
    forms = {text[s:e].casefold() for v in views for s, e in v.evidence if e > s}
    if not forms:
        return set()
    rows = (
        Tag.objects.filter(status=Tag.Status.ACTIVE)
        .annotate(form=Lower("name"))
        .filter(form__in=forms)
        .values("form")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    return {row["form"] for row in rows}


def pretick_precision() -> float:
    return float(getattr(settings, "TAGGER_PRETICK_PRECISION", 0.9))


def review_layout(
    text: str, views: list[TagView], version: ModelVersion | None, policy: Policy = Policy.NEW
) -> tuple[list[ShownTag], int]:
    """(the tags the page shows, in page order; how many candidates it leaves off).
    `views` come from review_state (facets in page order), `text` is the text the
    model read (Product.model_text), which the evidence spans index. A zero-shot
    model's evidence is exactly its name and alias matches: a tag counts as named
    when one of them is not also another tag's name."""
    thresholds = version.thresholds if version is not None else {}
    zero_shot = version is not None and version.mode == "zero_shot"
    shared = _shared_names(text, views) if zero_shot else set()
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
                named=zero_shot and names_tag(text, view.evidence, shared),
                state=view.state,
            )
        )
    facet_order = list(dict.fromkeys(view.facet for view in views))
    rows, hidden = layout(candidates, policy, pretick_precision(), zero_shot, facet_order)
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
