import logging
import uuid
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef

from annotation.models import Product, ProductTag, ReviewEvent
from annotation.services import queue
from annotation.services.review import history
from annotation.services.review.decisions import Action, SubmitResult
from annotation.services.review.history import own_submissions
from annotation.services.tag_changes import record_tag_changes

logger = logging.getLogger(__name__)


def _undone(tag_scoped: bool = False) -> Exists:
    """Whether the outer event's submission (and tag, if tag_scoped) was undone."""
    undo = ReviewEvent.objects.filter(action=Action.UNDO, submission=OuterRef("submission"))
    if tag_scoped:
        undo = undo.filter(tag_id=OuterRef("tag_id"))
    return Exists(undo)


def _producing_event(event: ReviewEvent) -> ReviewEvent | None:
    """The still-standing event that wrote the tag state `event` replaced."""
    assert event.tag_id is not None, "only events that name a tag are restored"
    return (
        ReviewEvent.objects.filter(
            product_id=event.product_id,
            tag_id=event.tag_id,
            pk__lt=event.pk,
            new_state=event.previous_state,
        )
        .exclude(action=Action.UNDO)
        .exclude(previous_state=event.previous_state)  # confirmations wrote nothing
        .exclude(_undone(tag_scoped=True))
        .order_by("-pk")
        .first()
    )


def _restore(event: ReviewEvent, row: ProductTag | None) -> bool:
    """Put the tag back as it was before `event`; False when the event's effect no
    longer stands (someone decided the tag since) or it changed nothing."""
    current = row.state if row is not None else ""
    if row is None or event.previous_state == event.new_state or current != event.new_state:
        return False
    if event.previous_state == "":
        row.delete()
        return True
    row.state = event.previous_state
    fields = ["state", "updated_at"]
    origin = _producing_event(event)
    if origin is not None:
        # Provenance comes from the audit record of the decision being restored.
        row.source = (
            ProductTag.Source.IMPORT if origin.action == Action.IMPORT else ProductTag.Source.HUMAN
        )
        row.decided_by_id = origin.user_id
        row.decided_at = origin.created_at
        row.score = origin.score
        row.model_version_id = origin.model_version_id if origin.score is not None else None
        fields = [*ProductTag.DECISION_FIELDS, "updated_at"]
    else:
        logger.warning(
            "no audit event for the earlier state of tag %s on product %s; state restored only",
            event.tag_id,
            event.product_id,
        )
    row.save(update_fields=fields)
    return True


def _last_review_time(product: Product) -> datetime | None:
    last = (
        ReviewEvent.objects.filter(product=product, action__in=queue.REVIEW_ACTIONS)
        .exclude(_undone())
        .order_by("-created_at", "-pk")
        .first()
    )
    return last.created_at if last is not None else None


def submitted_decisions(submission: uuid.UUID) -> tuple[int, dict[int, bool]] | None:
    """(product id, {tag id: approved}) as the reviewer decided in a submission (an
    explicit "no tags apply" gives no tag), None for an unknown submission."""
    events = list(
        ReviewEvent.objects.filter(submission=submission, action__in=queue.REVIEW_ACTIONS)
    )
    if not events:
        return None
    decisions = {
        e.tag_id: e.new_state == ProductTag.State.APPROVED for e in events if e.tag_id is not None
    }
    return events[0].product_id, decisions


def undo_last_submission(user: User) -> SubmitResult | None:
    """Reverse this user's latest review submission that is not undone yet
    (undo_submission); None when there is nothing to undo."""
    last = own_submissions(user).exclude(_undone()).order_by("-created_at", "-pk").first()
    if last is None:
        return None
    assert last.submission is not None  # filtered above; narrows the type
    return undo_submission(user, last.submission)


def undo_submission(user: User, submission: uuid.UUID) -> SubmitResult | None:
    """Reverse one of this user's review submissions, the latest or an earlier one.

    Each tag goes back to its state before the submission (rows it created are
    deleted), unless someone decided that tag since: their decision stands. One
    UNDO event per original decision, carrying the original submission id. The
    product goes back to the queue, leased to this user. Bulk edits are not undone
    here. Returns None when the submission is not this user's or is undone already.
    """
    last = own_submissions(user).filter(submission=submission).exclude(_undone()).first()
    if last is None:
        return None
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=last.product_id)
        if ReviewEvent.objects.filter(submission=submission, action=Action.UNDO).exists():
            return None  # a concurrent undo got here first
        originals = list(
            ReviewEvent.objects.filter(
                submission=submission, action__in=queue.REVIEW_ACTIONS
            ).order_by("pk")
        )
        rows = {
            row.tag_id: row
            for row in ProductTag.objects.filter(
                product=product, tag_id__in=[e.tag_id for e in originals if e.tag_id]
            )
        }
        undo_events = []
        changed = False
        for event in originals:
            row = rows.get(event.tag_id) if event.tag_id else None
            before = row.state if row is not None else ""
            restored = event.tag_id is not None and _restore(event, row)
            changed = changed or restored
            undo_events.append(
                ReviewEvent(
                    user=user,
                    product=product,
                    tag_id=event.tag_id,
                    action=Action.UNDO,
                    previous_state=before,
                    new_state=event.previous_state if restored else before,
                    score=event.score,
                    model_version_id=event.model_version_id,
                    submission=submission,
                    note=""
                    if restored or before == event.previous_state
                    else "kept: decided since",
                )
            )
        undo_events = ReviewEvent.objects.bulk_create(undo_events)
        product.reviewed_at = _last_review_time(product)
        product.save(update_fields=["reviewed_at"])
        queue.reopen(product, user)
        if changed:
            record_tag_changes([product.pk])
        history.moved(user)
    return SubmitResult(submission=submission, events=undo_events, product=product)
