"""Claiming, releasing, skipping and completing queue entries."""

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from annotation.models import Product, ProjectSettings, QueueEntry, ReviewEvent
from annotation.services.queue.common import (
    REVIEW_ACTIONS,
    SKIP_COOLDOWN,
    free,
    lease_length,
    reviews_needed_for,
)

logger = logging.getLogger(__name__)

# Candidates tried per query when a claim loses races (SQLite path).
_CANDIDATES = 10
_MAX_ROUNDS = 20


def _reviewed_by(user: User) -> Exists:
    undone = ReviewEvent.objects.filter(
        action=ReviewEvent.Action.UNDO, submission=OuterRef("submission")
    )
    return Exists(
        ReviewEvent.objects.filter(
            user=user, product_id=OuterRef("product_id"), action__in=REVIEW_ACTIONS
        ).exclude(Exists(undone))
    )


def _claimable(user: User, now: datetime) -> QuerySet[QueueEntry]:
    # Only entries that already had a review can have been reviewed by this user,
    # so the audit lookup runs for the few overlap entries, not the whole queue.
    return QueueEntry.objects.filter(free(now), completed_at__isnull=True).filter(
        Q(reviews_done=0) | ~_reviewed_by(user)
    )


def _own_lease(user: User, now: datetime) -> QueueEntry | None:
    return (
        QueueEntry.objects.filter(
            leased_by=user, lease_expires_at__gt=now, completed_at__isnull=True
        )
        .order_by("lease_expires_at", "pk")
        .first()
    )


def _take(
    candidates: QuerySet[QueueEntry], user: User, now: datetime, lease: timedelta
) -> int | None:
    """Lease the best entry of `candidates` to `user`; its pk, or None when none is left."""
    # completed_at leads the ORDER BY although it is NULL on every candidate: it
    # is the first column of queue_next_idx, and PostgreSQL only walks that index
    # in priority order when the ORDER BY names it (else it sorts the whole queue).
    ordered = candidates.order_by("completed_at", "-priority", "pk")
    skip_locked = connection.features.has_select_for_update_skip_locked
    for _ in range(_MAX_ROUNDS):
        if skip_locked:
            # Rows other claimers have locked are skipped, so the one we get is ours.
            pks = list(
                ordered.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", flat=True
                )[:1]
            )
        else:
            pks = list(ordered.values_list("pk", flat=True)[:_CANDIDATES])
        if not pks:
            return None
        for pk in pks:
            won = QueueEntry.objects.filter(free(now), pk=pk, completed_at__isnull=True).update(
                leased_by=user, lease_expires_at=now + lease
            )
            if won == 1:
                return pk
    logger.warning("claim for user %s lost %d rounds of races; giving up", user.pk, _MAX_ROUNDS)
    return None


def claim_next(user: User, *, lease_seconds: int | None = None) -> QueueEntry | None:
    """The entry this user should review now, leased to them; None when the queue
    has nothing left for them.

    The user's own live lease comes first (and is extended), so reloading the
    review page never takes a second product. Otherwise the highest-priority free
    entry they have not reviewed, preferring ones they did not just skip.
    """
    lease = lease_length(lease_seconds)
    with transaction.atomic():
        now = timezone.now()
        if connection.features.has_select_for_update:
            # Serialise one user's concurrent claims (a double click), so they cannot
            # end up holding two products. SQLite's IMMEDIATE transactions already do.
            list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        own = _own_lease(user, now)
        if own is not None:
            QueueEntry.objects.filter(pk=own.pk, leased_by=user).update(
                lease_expires_at=now + lease
            )
            pk: int | None = own.pk
        else:
            claimable = _claimable(user, now)
            recently_skipped = Q(skipped_by=user, skipped_at__gt=now - SKIP_COOLDOWN)
            pk = _take(claimable.exclude(recently_skipped), user, now, lease)
            if pk is None:
                pk = _take(claimable, user, now, lease)
    if pk is None:
        return None
    return QueueEntry.objects.select_related("product").get(pk=pk)


def release(entry: QueueEntry, user: User) -> None:
    """Give the entry back to the queue if this user holds it; otherwise nothing."""
    released = QueueEntry.objects.filter(pk=entry.pk, leased_by=user).update(
        leased_by=None, lease_expires_at=None
    )
    if released:
        entry.leased_by = None
        entry.lease_expires_at = None


def skip(user: User, product: Product) -> None:
    """Release the product if this user holds it and remember the skip, so the
    same reviewer is not served it straight back; others can take it at once."""
    now = timezone.now()
    with transaction.atomic():
        QueueEntry.objects.filter(product=product, leased_by=user).update(
            leased_by=None, lease_expires_at=None
        )
        QueueEntry.objects.filter(product=product).update(skipped_by=user, skipped_at=now)
        ReviewEvent.objects.create(user=user, product=product, action=ReviewEvent.Action.SKIP)


def _entry_for(entry_or_product: QueueEntry | Product) -> QueueEntry:
    if isinstance(entry_or_product, QueueEntry):
        return entry_or_product
    product = entry_or_product
    # A callable default: the project settings are read only when the entry is new.
    entry, _ = QueueEntry.objects.get_or_create(
        product=product,
        defaults={"reviews_needed": lambda: reviews_needed_for(product.pk, ProjectSettings.load())},
    )
    return entry


def complete(entry_or_product: QueueEntry | Product, user: User) -> None:
    """Count one review of the entry's product by `user`.

    Call inside the review's transaction. The entry is completed once it has the
    reviews it needs; otherwise (overlap) it goes back to the queue for another
    reviewer. A product reviewed without a queue entry (through the API) gets one,
    so the queue never serves it again.
    """
    entry = _entry_for(entry_or_product)
    now = timezone.now()
    # One UPDATE (the review's hot path). Every expression reads the row as it
    # was, so "this review completes it" is reviews_done + 1 >= reviews_needed.
    # F() increments so that two reviewers finishing an overlap product at once
    # both count.
    completes = Q(completed_at__isnull=True, reviews_done__gte=F("reviews_needed") - 1)
    released = completes | Q(leased_by=user)
    still_open = Q(completed_at__isnull=True, reviews_done__lt=F("reviews_needed") - 1)
    QueueEntry.objects.filter(pk=entry.pk).update(
        reviews_done=F("reviews_done") + 1,
        completed_at=Case(When(completes, then=Value(now)), default=F("completed_at")),
        leased_by=Case(When(released, then=Value(None)), default=F("leased_by")),
        lease_expires_at=Case(When(released, then=Value(None)), default=F("lease_expires_at")),
        reason=Case(
            When(still_open, then=Value(QueueEntry.Reason.OVERLAP.value)), default=F("reason")
        ),
    )
    if entry is entry_or_product:
        entry.refresh_from_db()  # the caller's object, brought up to date


def reopen(product: Product, user: User, *, lease_seconds: int | None = None) -> None:
    """Take back one review of the product (an undo) and lease it to `user` again,
    unless someone else holds it now. Call inside the undo's transaction."""
    lease = lease_length(lease_seconds)
    now = timezone.now()
    entry = _entry_for(product)
    entries = QueueEntry.objects.filter(pk=entry.pk)
    entries.filter(reviews_done__gt=0).update(reviews_done=F("reviews_done") - 1)
    entries.filter(reviews_done__lt=F("reviews_needed")).update(completed_at=None)
    entries.filter(free(now) | Q(leased_by=user)).update(
        leased_by=user, lease_expires_at=now + lease
    )
