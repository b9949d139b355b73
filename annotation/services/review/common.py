"""What submit, undo and bulk edits share: the decision types, tag resolution and
validation, and telling the export and webhooks about changes."""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction

from annotation.models import Product, ProductTag, ReviewEvent, Tag
from training.models import ModelVersion

# Written by the export and webhooks parts of the project; reviews work without them.
_touch_products: Callable[[Iterable[int]], None] | None
_notify_approvals: Callable[[list[int]], object] | None
try:  # bumps Product.tags_updated_at (the export's change order) and notifies webhooks
    from annotation.services.changes import touch_products as _touch_products
except ImportError:
    _touch_products = None
try:
    from annotation.services.webhooks import notify_approval_changes as _notify_approvals
except ImportError:
    _notify_approvals = None

APPROVED = ProductTag.State.APPROVED
REJECTED = ProductTag.State.REJECTED
Action = ReviewEvent.Action


@dataclass(frozen=True)
class Decision:
    tag_id: int
    approved: bool


@dataclass
class SubmitResult:
    submission: uuid.UUID
    events: list[ReviewEvent]
    product: Product


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def _follow_merges(tag: Tag) -> Tag:
    """The active tag a deprecated tag was merged into; ValueError when there is none."""
    seen = {tag.pk}
    current = tag
    while not current.is_active:
        if current.merged_into_id is None or current.merged_into_id in seen:
            raise ValueError(f"tag {tag.pk} ({tag.key}) is deprecated and was not merged")
        seen.add(current.merged_into_id)
        current = Tag.objects.select_related("group").get(pk=current.merged_into_id)
    return current


def resolve_tag(tag: Tag) -> Tag:
    """The tag a decision about `tag` applies to (its merge target if it was merged)."""
    return _follow_merges(tag)


def resolve_decisions(decisions: Sequence[Decision]) -> dict[int, tuple[Tag, bool]]:
    """Decisions keyed by the tag they apply to, after merges; refuses unknown tags
    and contradicting decisions about one tag."""
    ids = {d.tag_id for d in decisions}
    tags = Tag.objects.select_related("group").in_bulk(ids)
    unknown = sorted(ids - tags.keys())
    if unknown:
        raise ValueError(
            f"unknown tag id {unknown[0]}" if len(unknown) == 1 else f"unknown tag ids {unknown}"
        )
    resolved: dict[int, tuple[Tag, bool]] = {}
    for decision in decisions:
        tag = _follow_merges(tags[decision.tag_id])
        if tag.pk in resolved and resolved[tag.pk][1] != decision.approved:
            raise ValueError(f"contradicting decisions about tag {tag.pk} ({tag.key})")
        resolved[tag.pk] = (tag, decision.approved)
    return resolved


def check_single_valued(product: Product, resolved: dict[int, tuple[Tag, bool]]) -> None:
    """A single-valued facet may carry at most one approved tag once the decisions
    apply (tags not mentioned keep their state). Call under the product's lock."""
    groups = {
        tag.group_id: tag.group
        for tag, approved in resolved.values()
        if approved and not tag.group.multi_valued
    }
    for group_id, group in groups.items():
        approved_after = set(
            ProductTag.objects.filter(
                product=product, state=APPROVED, tag__group_id=group_id
            ).values_list("tag_id", flat=True)
        )
        for tag, approved in resolved.values():
            if tag.group_id == group_id:
                (approved_after.add if approved else approved_after.discard)(tag.pk)
        if len(approved_after) > 1:
            names = sorted(Tag.objects.filter(pk__in=approved_after).values_list("name", flat=True))
            raise ValueError(
                f"facet {group.name!r} allows one tag per product, got {len(names)}: "
                + ", ".join(names)
            )


def record_changes(product_ids: Iterable[int]) -> None:
    """Tell the export and webhooks that these products' tags changed. Call inside
    the transaction that changed them; webhooks fire only once it commits."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    if _touch_products is not None:
        _touch_products(ids)
    elif _notify_approvals is not None:
        notify = _notify_approvals
        transaction.on_commit(lambda: notify(ids))
