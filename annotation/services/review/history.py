"""A reviewer's recent submissions, as the review page's history lists them.

Reading them from the events takes three queries and a few milliseconds, on
every page a reviewer opens. So each reviewer's list is kept in the cache beside
a counter that every write of theirs moves on: a submit, which also puts its own
item on top of the kept list once it commits (the page after it reads nothing),
and an undo or a bulk edit, after which the next page reads the list again.
The counter moves at once and again at commit, so a list read by a concurrent
request before the commit is never taken for the committed one; a kept list
also ages out (HISTORY_SECONDS), which bounds how long a title changed by an
import shows its old text. Without a cache answer the events are read.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from annotation.models import Product, ProductTag, ReviewEvent
from annotation.services import generations, queue
from annotation.services.review.decisions import Action

logger = logging.getLogger(__name__)

# How many of a reviewer's latest submissions the review page lists to reopen.
HISTORY_SIZE = 10


@dataclass(frozen=True)
class HistoryItem:
    """One of a reviewer's recent submissions, as the history sidebar lists it."""

    submission: uuid.UUID
    product_id: int
    title: str
    created_at: datetime
    approved: int  # tags approved in it
    undone: bool


def own_submissions(user: User) -> QuerySet[ReviewEvent]:
    """The user's review events that belong to a submission."""
    return ReviewEvent.objects.filter(
        user=user, action__in=queue.REVIEW_ACTIONS, submission__isnull=False
    )


def _read(user: User, limit: int) -> list[HistoryItem]:
    """The user's latest `limit` review submissions, read from the events.

    The submission ids come from the user's events read newest first in bounded
    pages through the (user, created_at) index, stopping at the (limit + 1)-th
    distinct one, so the cost does not grow with the reviewer's history; one
    grouped query then sums up those submissions and another reads their titles.
    """
    order: list[uuid.UUID] = []  # newest first
    seen: set[uuid.UUID] = set()
    ids = own_submissions(user).order_by("-created_at", "-pk").values_list("submission", flat=True)
    page, start = 256, 0
    while len(order) < limit:
        rows = list(ids[start : start + page])
        for submission in rows:
            assert submission is not None  # filtered in own_submissions
            if submission not in seen:
                seen.add(submission)
                order.append(submission)
                if len(order) == limit:
                    break
        if len(rows) < page:
            break
        start += page
    summary = {
        row["submission"]: row
        for row in own_submissions(user)
        .filter(submission__in=order)
        .order_by()
        .values("submission")
        .annotate(
            its_product=Max("product_id"),
            created_at=Max("created_at"),
            approved=Count("pk", filter=Q(tag__isnull=False, new_state=ProductTag.State.APPROVED)),
            undone=Exists(
                ReviewEvent.objects.filter(action=Action.UNDO, submission=OuterRef("submission"))
            ),
        )
    }
    titles = dict(
        Product.objects.filter(pk__in={row["its_product"] for row in summary.values()}).values_list(
            "pk", "title"
        )
    )
    return [
        HistoryItem(
            submission=submission,
            product_id=row["its_product"],
            title=titles.get(row["its_product"], ""),
            created_at=row["created_at"],
            approved=row["approved"],
            undone=row["undone"],
        )
        for submission in order
        if (row := summary.get(submission)) is not None
    ]


# A kept list is read again after this long even if nothing moved its counter.
HISTORY_SECONDS = 600


def _count_key(user_id: int) -> str:
    return f"tagger:history:count:{user_id}"


def _list_key(user_id: int) -> str:
    return f"tagger:history:list:{user_id}"


def recent_submissions(user: User, limit: int = HISTORY_SIZE) -> list[HistoryItem]:
    """The user's latest `limit` review submissions, newest first, undone or not."""
    count = generations.read(_count_key(user.pk))
    if count is None:  # the cache is down: read the events, never fail the page
        return _read(user, limit)
    try:
        kept = cache.get(_list_key(user.pk))
    except Exception:
        logger.warning("review history: the cache did not answer", exc_info=True)
        return _read(user, limit)
    if kept is not None and kept[0] == count and kept[1] == limit:
        return list(kept[2])
    items = _read(user, limit)
    if connection.in_atomic_block:
        # Inside a transaction the list may hold writes that roll back: not kept.
        return items
    try:
        cache.set(_list_key(user.pk), (count, limit, items), HISTORY_SECONDS)
    except Exception:
        logger.warning("review history: could not keep the list", exc_info=True)
    return items


def moved(user: User) -> None:
    """The user's submissions changed in a way only a read can tell (an undo, a
    bulk edit): the next page reads the list again. Call inside the writing
    transaction."""
    generations.move(_count_key(user.pk))
    transaction.on_commit(lambda: generations.move(_count_key(user.pk)))


def submitted(user: User, item: HistoryItem) -> None:
    """The user submitted `item`. Call inside the submit's transaction: the kept
    list is stale from now on, and once the submit commits `item` goes on top of
    it, unless another write of the user's came in between (then the next page
    reads the list)."""
    moved_to = generations.move(_count_key(user.pk))
    if moved_to is None:
        # The cache did not answer now: at least move the counter at commit.
        transaction.on_commit(lambda: generations.move(_count_key(user.pk)))
    else:
        transaction.on_commit(lambda: _put_on_top(user.pk, item, moved_to))


def _put_on_top(user_id: int, item: HistoryItem, moved_to: int) -> None:
    """At the submit's commit: `moved_to` is where the submit moved the counter
    when it wrote. The kept list gets `item` when it lacks only `item`: kept
    just before that move, or read since by another request (which could not
    see the uncommitted submit), and no other write of the user's since."""
    count = generations.move(_count_key(user_id))
    if count != moved_to + 1:
        return
    try:
        kept = cache.get(_list_key(user_id))
        if kept is not None and kept[0] in (moved_to - 1, moved_to):
            limit = kept[1]
            cache.set(_list_key(user_id), (count, limit, [item, *kept[2]][:limit]), HISTORY_SECONDS)
    except Exception:
        logger.warning("review history: could not add the submission", exc_info=True)
