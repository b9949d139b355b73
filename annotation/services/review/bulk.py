import logging
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
    resolve_tag,
)
from annotation.services.tag_changes import record_tag_changes

logger = logging.getLogger(__name__)

_CHUNK = 500
# The ProductTag fields a decision writes.


def bulk_set_tag(user: User, product_ids: Sequence[int], tag: Tag, approved: bool) -> int:
    """Approve or reject one tag on many products as one submission (BULK_ACCEPT /
    BULK_REJECT events). Products already in that state are left alone. Does not
    mark products reviewed: one tag is not a review of the whole product.

    Raises ReviewError for unknown products, a deprecated unmerged tag, or an
    approval that would give a product two tags of a single-valued facet.
    Returns the number of products changed.
    """
    target = resolve_tag(tag)
    ids = sorted(set(product_ids))
    new_state = APPROVED if approved else REJECTED
    action = Action.BULK_ACCEPT if approved else Action.BULK_REJECT
    version = active_model.active_version()
    submission = uuid.uuid4()
    changed_ids: list[int] = []
    with transaction.atomic():
        now = timezone.now()
        for chunk in queue.chunks(ids, _CHUNK):
            found = set(
                Product.objects.select_for_update()
                .filter(pk__in=chunk)
                .values_list("pk", flat=True)
            )
            missing = sorted(set(chunk) - found)
            if missing:
                raise ReviewError(f"unknown product ids {missing[:10]}")
            if approved and not target.group.multi_valued:
                clash = sorted(
                    ProductTag.objects.filter(
                        product_id__in=chunk, tag__group_id=target.group_id, state=APPROVED
                    )
                    .exclude(tag=target)
                    .values_list("product_id", flat=True)
                )
                if clash:
                    raise ReviewError(
                        f"facet {target.group.name!r} allows one tag per product; "
                        f"products {clash[:10]} already carry another"
                    )
            rows = {
                r.product_id: r for r in ProductTag.objects.filter(tag=target, product_id__in=chunk)
            }
            scores: dict[int, float] = {}
            if version is not None:
                scores = dict(
                    Suggestion.objects.filter(
                        model_version=version, tag=target, product_id__in=chunk
                    ).values_list("product_id", "score")
                )
            to_update, to_create, events = [], [], []
            for pid in chunk:
                row = rows.get(pid)
                previous = row.state if row is not None else ""
                if previous == new_state:
                    continue
                score = scores.get(pid)
                if row is None:
                    row = ProductTag(product_id=pid, tag=target)
                    to_create.append(row)
                else:
                    to_update.append(row)
                row.state = new_state
                row.source = ProductTag.Source.HUMAN
                row.decided_by = user
                row.model_version = version if score is not None else None
                row.score = score
                events.append(
                    ReviewEvent(
                        user=user,
                        product_id=pid,
                        tag=target,
                        action=action,
                        previous_state=previous,
                        new_state=new_state,
                        score=score,
                        model_version=version,
                        submission=submission,
                    )
                )
                changed_ids.append(pid)
            events = ReviewEvent.objects.bulk_create(events)
            history.moved(user)
            decided_at = {e.product_id: e.created_at for e in events}
            for row in (*to_create, *to_update):
                row.decided_at = decided_at[row.product_id]
                # bulk_update skips auto_now; the export cursor depends on it.
                row.updated_at = now
            ProductTag.objects.bulk_create(to_create)
            ProductTag.objects.bulk_update(to_update, [*ProductTag.DECISION_FIELDS, "updated_at"])
        record_tag_changes(changed_ids)
    logger.info(
        "user %s bulk-set %s=%s on %d products", user.pk, target.key, new_state, len(changed_ids)
    )
    return len(changed_ids)
