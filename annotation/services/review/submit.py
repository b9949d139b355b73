import uuid
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import Product, ProductTag, ReviewEvent, Suggestion
from annotation.services import queue
from annotation.services.review.common import (
    APPROVED,
    REJECTED,
    Action,
    Decision,
    SubmitResult,
    active_model_version,
    check_single_valued,
    record_changes,
    resolve_decisions,
)

# What a decision writes on the tag's row.
_DECIDED_FIELDS = ["state", "source", "decided_by", "decided_at", "model_version", "score"]


def _action(approved: bool, previous: str, suggestion: Suggestion | None) -> str:
    shown_selected = previous == APPROVED or (
        previous == "" and suggestion is not None and suggestion.selected
    )
    if approved:
        return Action.ACCEPT if shown_selected else Action.ADD
    return Action.REMOVE if previous == APPROVED else Action.REJECT


def submit_review(
    user: User, product: Product, decisions: Sequence[Decision], *, note: str = ""
) -> SubmitResult:
    """Apply one reviewer's decisions about one product, all or nothing.

    Raises ValueError for an unknown or unmerged deprecated tag, contradicting
    decisions, or two approved tags in a single-valued facet. Decisions about a
    merged tag apply to the tag it was merged into. A decision equal to the current
    state is recorded (the reviewer confirmed it) without rewriting the tag. Tags
    not mentioned keep their state. The product is marked reviewed and its queue
    entry completed (or handed to the next reviewer, for overlap products).
    """
    resolved = resolve_decisions(decisions)
    version = active_model_version()
    submission = uuid.uuid4()
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        check_single_valued(locked, resolved)
        current = {
            row.tag_id: row
            for row in ProductTag.objects.filter(product=locked, tag_id__in=resolved)
        }
        suggestions: dict[int, Suggestion] = {}
        if version is not None:
            suggestions = {
                s.tag_id: s
                for s in Suggestion.objects.filter(
                    product=locked, model_version=version, tag_id__in=resolved
                )
            }
        events = []
        for tag_id, (tag, approved) in resolved.items():
            row = current.get(tag_id)
            previous = row.state if row is not None else ""
            suggestion = suggestions.get(tag_id)
            events.append(
                ReviewEvent(
                    user=user,
                    product=locked,
                    tag=tag,
                    action=_action(approved, previous, suggestion),
                    previous_state=previous,
                    new_state=APPROVED if approved else REJECTED,
                    score=suggestion.score if suggestion else None,
                    model_version=version,
                    submission=submission,
                    note=note[:500],
                )
            )
        # Events first: each decision's time is its event's, so the tag row, the
        # audit record and an undo later all agree on it to the microsecond.
        events = ReviewEvent.objects.bulk_create(events)
        rows = []
        for event in events:
            if event.previous_state == event.new_state:
                continue  # confirmed as it was: recorded above, nothing to rewrite
            suggestion = suggestions.get(event.tag_id)
            rows.append(
                ProductTag(
                    product=locked,
                    tag_id=event.tag_id,
                    state=event.new_state,
                    source=ProductTag.Source.HUMAN,
                    decided_by=user,
                    decided_at=event.created_at,
                    model_version_id=suggestion.model_version_id if suggestion else None,
                    score=suggestion.score if suggestion else None,
                )
            )
        # One upsert for every changed tag (a per-tag update_or_create cost six
        # round trips each); ON CONFLICT also covers a row an import added since.
        ProductTag.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["product", "tag"],
            update_fields=[*_DECIDED_FIELDS, "updated_at"],
        )
        changed = bool(rows)
        locked.reviewed_at = max((e.created_at for e in events), default=timezone.now())
        locked.save(update_fields=["reviewed_at"])
        queue.complete(locked, user)
        if changed:
            record_changes([locked.pk])
    product.reviewed_at = locked.reviewed_at
    return SubmitResult(submission=submission, events=events, product=locked)
