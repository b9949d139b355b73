import uuid
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.errors import ReviewError
from annotation.models import Product, ProductTag, ReviewEvent, Suggestion, Tag
from annotation.services import active_model, queue
from annotation.services.review import history
from annotation.services.review.decisions import (
    APPROVED,
    REJECTED,
    Action,
    Decision,
    SubmitResult,
    check_single_valued,
    resolve_decisions,
)
from annotation.services.tag_changes import record_tag_changes

# What a decision writes on the tag's row.


def _action(approved: bool, previous: str, suggestion: Suggestion | None) -> str:
    shown_selected = previous == APPROVED or (
        previous == "" and suggestion is not None and suggestion.selected
    )
    if approved:
        return Action.ACCEPT if shown_selected else Action.ADD
    return Action.REMOVE if previous == APPROVED else Action.REJECT


# The record of an explicit "no tags apply" about a product that showed none.
NO_TAGS_APPLY = "no tags apply"


def _check_decided(resolved: dict[int, tuple[Tag, bool]], none_apply: bool) -> None:
    if not resolved and not none_apply:
        raise ReviewError(
            "nothing decided: give at least one decision, or say explicitly that no tags apply"
        )
    if none_apply and any(approved for _tag, approved in resolved.values()):
        raise ReviewError('"no tags apply" contradicts the tags approved with it')


def submit_review(
    user: User,
    product: Product,
    decisions: Sequence[Decision],
    *,
    note: str = "",
    none_apply: bool = False,
) -> SubmitResult:
    """Apply one reviewer's decisions about one product, all or nothing.

    Leases are the law (queue.hold_for_submit): raises LeaseConflict when the
    product is leased to someone else, or has had its reviews while the user
    held no lease; an admin overrides both, and the override is recorded in each
    event's note. Raises ReviewError for an unknown or unmerged deprecated tag,
    contradicting decisions, two approved tags in a single-valued facet, or no
    decision at all: an empty submit needs `none_apply` (the reviewer said no tag
    applies), recorded as one event without a tag. Decisions about a merged tag
    apply to the tag it was merged into. A decision equal to the current state
    is recorded (the reviewer confirmed it) without rewriting the tag. Tags not
    mentioned keep their state. The product is marked reviewed and its queue
    entry completed (or handed to the next reviewer, for overlap products); a
    review that does not count (a second one by the same person, an admin's of a
    done product) leaves the count as it is.
    """
    resolved = resolve_decisions(decisions)
    _check_decided(resolved, none_apply)
    version = active_model.active_version()
    submission = uuid.uuid4()
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        hold = queue.hold_for_submit(locked, user)
        if hold.override:
            note = f"{hold.override}; {note}" if note else hold.override
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
        if not events:
            # An explicit "no tags apply" about a product that showed no tag.
            note = f"{NO_TAGS_APPLY}; {note}" if note else NO_TAGS_APPLY
            events.append(
                ReviewEvent(
                    user=user,
                    product=locked,
                    action=Action.REJECT,
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
                continue  # confirmed as it was (or no tag): recorded above, nothing to rewrite
            assert event.tag_id is not None, "each event above names its tag"
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
            update_fields=[*ProductTag.DECISION_FIELDS, "updated_at"],
        )
        changed = bool(rows)
        locked.reviewed_at = max((e.created_at for e in events), default=timezone.now())
        history.submitted(
            user,
            history.HistoryItem(
                submission=submission,
                product_id=locked.pk,
                title=locked.title,
                created_at=locked.reviewed_at,
                approved=sum(1 for e in events if e.tag_id is not None and e.new_state == APPROVED),
                undone=False,
            ),
        )
        locked.save(update_fields=["reviewed_at"])
        if hold.counts:
            queue.complete(hold.entry, user, refresh=False)
        else:
            queue.release(hold.entry, user)
        if changed:
            record_tag_changes([locked.pk])
    product.reviewed_at = locked.reviewed_at
    return SubmitResult(submission=submission, events=events, product=locked)
