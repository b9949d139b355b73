"""What submit, undo and bulk edits share: the decision types, and tag
resolution and validation (refusals raise ReviewError)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from annotation.errors import ReviewError
from annotation.models import Product, ProductTag, ReviewEvent, Tag
from annotation.services.taxonomy import snapshot

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


def resolve_tag(tag: Tag) -> Tag:
    """The tag a decision about `tag` applies to (its merge target if it was merged);
    ReviewError when it was deprecated without a merge."""
    target = tag.merge_target()
    if target is None:
        raise ReviewError(f"tag {tag.pk} ({tag.key}) is deprecated and was not merged")
    return target


def resolve_decisions(decisions: Sequence[Decision]) -> dict[int, tuple[Tag, bool]]:
    """Decisions keyed by the tag they apply to, after merges; refuses unknown tags
    and contradicting decisions about one tag."""
    ids = {d.tag_id for d in decisions}
    tags = snapshot.current().tags_with_groups(ids)
    unknown = sorted(ids - tags.keys())
    if unknown:
        raise ReviewError(
            f"unknown tag id {unknown[0]}" if len(unknown) == 1 else f"unknown tag ids {unknown}"
        )
    resolved: dict[int, tuple[Tag, bool]] = {}
    for decision in decisions:
        tag = resolve_tag(tags[decision.tag_id])
        if tag.pk in resolved and resolved[tag.pk][1] != decision.approved:
            raise ReviewError(f"contradicting decisions about tag {tag.pk} ({tag.key})")
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
    if not groups:
        return
    approved_now: dict[int, set[int]] = {group_id: set() for group_id in groups}
    for tag_id, group_id in ProductTag.objects.filter(
        product=product, state=APPROVED, tag__group_id__in=groups
    ).values_list("tag_id", "tag__group_id"):
        approved_now[group_id].add(tag_id)
    for group_id, group in groups.items():
        approved_after = approved_now[group_id]
        for tag, approved in resolved.values():
            if tag.group_id == group_id:
                (approved_after.add if approved else approved_after.discard)(tag.pk)
        if len(approved_after) > 1:
            names = sorted(Tag.objects.filter(pk__in=approved_after).values_list("name", flat=True))
            raise ReviewError(
                f"facet {group.name!r} allows one tag per product, got {len(names)}: "
                + ", ".join(names)
            )
