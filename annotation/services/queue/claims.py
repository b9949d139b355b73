"""Claiming, releasing, skipping and completing queue entries."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from annotation import roles
from annotation.errors import LeaseConflict
from annotation.models import Product, ProjectSettings, QueueEntry, QueueSkip, ReviewEvent
from annotation.services.queue.rules import (
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


def _skipped_lately_by(user: User, now: datetime) -> Exists:
    """The user skipped the entry's product within the cooldown: one probe of the
    (user, product) unique index per candidate the claim walks past."""
    return Exists(
        QueueSkip.objects.filter(
            user=user, product_id=OuterRef("product_id"), skipped_at__gt=now - SKIP_COOLDOWN
        )
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
    if connection.vendor == "postgresql":
        return _take_in_one_statement(ordered, user, now + lease)
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


def _take_in_one_statement(
    ordered: QuerySet[QueueEntry], user: User, expires_at: datetime
) -> int | None:
    """PostgreSQL: lease the first of `ordered` that no other claim has locked, in
    one statement (UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED
    LIMIT 1) RETURNING id). The row stays locked from the choice to the update,
    and the lock re-checks the conditions on the row as it is then, so the
    entry chosen is free and ours; no second round trip, no lost race to retry."""
    choice = ordered.select_for_update(skip_locked=True, of=("self",)).values("pk")[:1]
    sql, params = choice.query.sql_with_params()
    table = connection.ops.quote_name(QueueEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # Only names from the model in the text; the values are parameters.
            f"UPDATE {table} AS claimed SET leased_by_id = %s, lease_expires_at = %s "
            f"WHERE claimed.id = ({sql}) RETURNING claimed.id",
            [user.pk, expires_at, *params],
        )
        row = cursor.fetchone()
    return row[0] if row is not None else None


def claim_next(user: User, *, lease_seconds: int | None = None) -> QueueEntry | None:
    """The entry this user should review now, leased to them; None when the queue
    has nothing left for them.

    The user's own live lease comes first (and is extended), so reloading the
    review page never takes a second product. Otherwise the highest-priority free
    entry they have not reviewed, preferring ones they have not skipped within
    the skip cooldown (each skipper's own, however many others skipped it since).
    """
    lease = lease_length(lease_seconds)
    with transaction.atomic():
        now = timezone.now()
        # Serialise one user's concurrent claims (a double click) with a lock on
        # their row, so they cannot end up holding two products (SQLite's
        # IMMEDIATE transactions already do).
        if connection.vendor == "postgresql":
            # In the same round trip: the claim writes nothing but a lease, so its
            # commit need not wait for the WAL to reach the disk (a fsync, the
            # slowest step of a claim under load; set_config(..., true) is SET
            # LOCAL). A database crash in that moment loses the lease at worst,
            # never a decision, and the product is simply free again.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('synchronous_commit', 'off', true) "
                    f"FROM {connection.ops.quote_name(User._meta.db_table)} "
                    "WHERE id = %s FOR UPDATE",
                    [user.pk],
                )
        elif connection.features.has_select_for_update:
            list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        own = _own_lease(user, now)
        if own is not None:
            QueueEntry.objects.filter(pk=own.pk, leased_by=user).update(
                lease_expires_at=now + lease
            )
            pk: int | None = own.pk
        else:
            claimable = _claimable(user, now)
            pk = _take(claimable.exclude(_skipped_lately_by(user, now)), user, now, lease)
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
    same reviewer is not served it again for the skip cooldown, whoever else
    skips it meanwhile; others can take it at once."""
    now = timezone.now()
    with transaction.atomic():
        QueueEntry.objects.filter(product=product, leased_by=user).update(
            leased_by=None, lease_expires_at=None
        )
        # The user's skips whose cooldown is over are forgotten, so the table
        # holds about one cooldown's worth of skips per reviewer.
        QueueSkip.objects.filter(user=user, skipped_at__lte=now - SKIP_COOLDOWN).delete()
        # One statement that inserts or refreshes the skip: a double press
        # cannot trip over the (user, product) constraint.
        QueueSkip.objects.bulk_create(
            [QueueSkip(user=user, product=product, skipped_at=now)],
            update_conflicts=True,
            unique_fields=["user", "product"],
            update_fields=["skipped_at"],
        )
        ReviewEvent.objects.create(user=user, product=product, action=ReviewEvent.Action.SKIP)


def _entry_for(entry_or_product: QueueEntry | Product) -> QueueEntry:
    if isinstance(entry_or_product, QueueEntry):
        return entry_or_product
    product = entry_or_product
    # A callable default: the project settings are read only when the entry is new.
    entry, _ = QueueEntry.objects.get_or_create(
        product=product,
        defaults={  # type: ignore[misc]  # django-stubs don't know callable defaults
            "reviews_needed": lambda: reviews_needed_for(product.pk, ProjectSettings.load())
        },
    )
    return entry


@dataclass(frozen=True)
class Hold:
    """What a submit may do with the product's queue entry (see hold_for_submit)."""

    entry: QueueEntry
    # The review counts towards the reviews the product needs.
    counts: bool
    # For the record: whose live lease an admin's submit overrode ("" if none),
    # or that an admin reviewed a product that was done already.
    override: str = ""


def _holder(entry: QueueEntry, now: datetime) -> int | None:
    """Who holds the entry's lease now (None when it is free)."""
    if entry.leased_by_id is None or entry.lease_expires_at is None:
        return None
    return entry.leased_by_id if entry.lease_expires_at > now else None


def _locked_entry(product: Product) -> QueueEntry:
    entry = QueueEntry.objects.select_for_update().filter(product=product).first()
    return entry if entry is not None else _entry_for(product)


def hold_for_submit(product: Product, user: User) -> Hold:
    """Whether `user` may submit a review of `product` now; LeaseConflict if not.

    Leases are the law. Call inside the submit's transaction, under the
    product's row lock: the entry is locked too, so a claim racing the submit
    waits for it and then sees the entry as the submit left it.

    - The user's own live lease: the review counts (unless the entry is done).
    - Someone else's live lease: refused, unless the user is an admin: then the
      override is recorded in `override`.
    - No live lease and the entry still open: the review counts, as if the user
      had claimed it, except a second review of an overlap product by the same
      person (recorded, not counted).
    - No live lease and the entry done (the user's lease ran out and someone
      else reviewed it since, or a concurrent submit got there first): refused,
      unless the user is an admin (recorded, not counted).
    """
    entry = _locked_entry(product)
    now = timezone.now()
    holder = _holder(entry, now)
    if holder == user.pk:
        return Hold(entry, counts=entry.completed_at is None)
    if holder is not None:
        name = User.objects.filter(pk=holder).values_list("username", flat=True).first() or ""
        if not roles.is_admin(user):
            raise LeaseConflict(
                f"product {product.external_id!r} is leased to another reviewer until "
                f"{entry.lease_expires_at:%Y-%m-%dT%H:%M:%SZ}; nothing was saved",
                holder=name,
            )
        return Hold(
            entry, counts=entry.completed_at is None, override=f"admin override of {name}'s lease"
        )
    if entry.completed_at is not None:
        if not roles.is_admin(user):
            raise LeaseConflict(
                f"product {product.external_id!r} has had the reviews it needs; nothing was saved"
            )
        return Hold(entry, counts=False, override="admin review of a product already done")
    again = entry.reviews_done > 0 and _reviewed_by_user(entry, user)
    return Hold(entry, counts=not again)


def _reviewed_by_user(entry: QueueEntry, user: User) -> bool:
    return QueueEntry.objects.filter(pk=entry.pk).filter(_reviewed_by(user)).exists()


def complete(entry_or_product: QueueEntry | Product, user: User, *, refresh: bool = True) -> None:
    """Count one review of the entry's product by `user`.

    Call inside the review's transaction. The entry is completed once it has the
    reviews it needs; otherwise (overlap) it goes back to the queue for another
    reviewer. A product reviewed without a queue entry (through the API) gets one,
    so the queue never serves it again.
    """
    entry = _entry_for(entry_or_product)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    overlap = QueueEntry.Reason.OVERLAP.value
    # One UPDATE, the review's hot path, in plain SQL (the same statement built
    # from Case/When expressions cost 5 ms of Python per submit). Every expression
    # reads the row as it was, so "this review completes it" is
    # reviews_done + 1 >= reviews_needed; the increment is relative, so two
    # reviewers finishing an overlap product at once both count; a review of a
    # done product is not counted (never past the reviews needed).
    completes = "(completed_at IS NULL AND reviews_done >= reviews_needed - 1)"
    released = f"({completes} OR leased_by_id = %s)"
    still_open = "(completed_at IS NULL AND reviews_done < reviews_needed - 1)"
    with connection.cursor() as cursor:
        cursor.execute(
            # Only names from the model in the text; the values are parameters.
            f"UPDATE {connection.ops.quote_name(QueueEntry._meta.db_table)} SET "
            "reviews_done = CASE WHEN reviews_done < reviews_needed "
            "THEN reviews_done + 1 ELSE reviews_done END, "
            f"completed_at = CASE WHEN {completes} THEN %s ELSE completed_at END, "
            f"leased_by_id = CASE WHEN {released} THEN NULL ELSE leased_by_id END, "
            f"lease_expires_at = CASE WHEN {released} THEN NULL ELSE lease_expires_at END, "
            f"reason = CASE WHEN {still_open} THEN %s ELSE reason END "
            "WHERE id = %s",
            [now, user.pk, user.pk, overlap, entry.pk],
        )
    if refresh and entry is entry_or_product:
        entry.refresh_from_db()  # the caller's object, brought up to date


def _standing_reviewers(product: Product) -> int:
    """How many people have a review of the product on record, not undone."""
    undone = ReviewEvent.objects.filter(
        action=ReviewEvent.Action.UNDO, submission=OuterRef("submission")
    )
    return (
        ReviewEvent.objects.filter(product=product, action__in=REVIEW_ACTIONS)
        .exclude(Exists(undone))
        .values("user")
        .distinct()
        .count()
    )


def reopen(product: Product, user: User, *, lease_seconds: int | None = None) -> None:
    """Take back one review of the product (an undo) and lease it to `user` again,
    unless someone else holds it now. Call inside the undo's transaction, after
    the undo is on record: the reviews done are counted again from the record
    (people with a standing review), so undoing a review that was not counted
    (a second one by the same person, an admin's review of a done product)
    takes nothing back."""
    lease = lease_length(lease_seconds)
    now = timezone.now()
    entry = _entry_for(product)
    entries = QueueEntry.objects.filter(pk=entry.pk)
    done = min(_standing_reviewers(product), entry.reviews_needed)
    entries.update(reviews_done=done)
    if done < entry.reviews_needed:
        entries.update(completed_at=None)
    entries.filter(free(now) | Q(leased_by=user)).update(
        leased_by=user, lease_expires_at=now + lease
    )
