import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from annotation.models import Product, ProductTag, Suggestion
from annotation.services.active_model import ModelVersion
from annotation.services.taxonomy import snapshot

APPROVED = ProductTag.State.APPROVED


@dataclass(frozen=True)
class TagView:
    """One tag as the review page shows it."""

    tag_id: int
    key: str
    label: str
    label_zh: str
    facet: str
    facet_label: str
    facet_label_zh: str
    single_valued: bool
    score: float | None  # the model's score, None when it did not suggest the tag
    suggested: bool  # the model selected it (above the tag's threshold)
    selected: bool  # pre-selected on the page: approved already, or suggested and not rejected
    state: str | None  # approved / rejected / None when undecided
    evidence: list[tuple[int, int]] = field(default_factory=list)


def review_state(
    product: Product,
    model_version: ModelVersion | None,
    taxonomy: snapshot.Taxonomy | None = None,
) -> list[TagView]:
    """The tags to show for a product: the given version's suggestions and every
    decided tag, ordered by facet (position, name) then score, highest first.
    Suggestions of deprecated tags are left out (their merge target shows instead
    once decided). Tags are read from `taxonomy` (default: the process's copy)."""
    suggestions: dict[int, Suggestion] = {}
    if model_version is not None:
        suggestions = {
            s.tag_id: s
            for s in Suggestion.objects.filter(product=product, model_version=model_version).only(
                "tag_id", "score", "selected", "evidence"
            )
        }
    decided = {
        row.tag_id: row
        for row in ProductTag.objects.filter(product=product).only("tag_id", "state")
    }
    tags = (taxonomy or snapshot.current()).tags_with_groups(suggestions.keys() | decided.keys())
    views = []
    for tag_id, tag in tags.items():
        suggestion = suggestions.get(tag_id)
        row = decided.get(tag_id)
        if row is None and not tag.is_active:
            continue
        state = row.state if row is not None else None
        suggested = bool(suggestion and suggestion.selected)
        views.append(
            TagView(
                tag_id=tag_id,
                key=tag.key,
                label=tag.label,
                label_zh=tag.display_name_zh,
                facet=tag.group.name,
                facet_label=tag.group.label,
                facet_label_zh=tag.group.display_name_zh,
                single_valued=not tag.group.multi_valued,
                score=suggestion.score if suggestion else None,
                suggested=suggested,
                selected=state == APPROVED or (state is None and suggested),
                state=state,
                evidence=[(int(s), int(e)) for s, e in (suggestion.evidence if suggestion else [])],
            )
        )
    groups = {tag.group_id: tag.group for tag in tags.values()}
    facet_order = {
        g.name: i for i, g in enumerate(sorted(groups.values(), key=lambda g: (g.position, g.name)))
    }
    views.sort(
        key=lambda v: (
            facet_order[v.facet],
            v.score is None,
            -(v.score or 0.0),
            v.label.casefold(),
        )
    )
    return views


def group_by_facet(views: Sequence[TagView]) -> list[tuple[str, list[TagView]]]:
    """(facet name, its tags) in the order review_state returned them."""
    return [
        (facet, list(items)) for facet, items in itertools.groupby(views, key=lambda v: v.facet)
    ]
