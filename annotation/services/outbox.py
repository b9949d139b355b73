"""The transactional outbox: every Celery task the apps enqueue goes through here.

``enqueue`` writes an ``OutboxMessage`` row in the caller's transaction and asks
for it to be sent once that transaction commits. So the task is sent only for
data that committed, and the request that committed it never fails because the
broker is down: the message just stays pending, and ``dispatch_pending`` (the
beat task ``annotation.tasks.dispatch_outbox``, the ``dispatch_outbox`` command,
a worker starting) sends it when the broker is back.

Sending is idempotent: a dispatcher first claims the message with one
conditional UPDATE (pending and not claimed by anyone else), so two sweeps or a
sweep and the after-commit send never both send it. A dispatcher that dies
between claim and send frees the message when its claim runs out, and the next
sweep sends it (at least once, never twice while both live).

Only ``annotation/jobs.py`` and ``training/jobs.py`` call this module; tasks are
looked up by name in Celery's registry.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from celery import current_app
from celery.exceptions import NotRegistered
from celery.result import AsyncResult
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from kombu.exceptions import EncodeError

from annotation.models import OutboxMessage

logger = logging.getLogger(__name__)

# How long a dispatcher holds a message it is sending.
CLAIM_SECONDS = 300
# One reconnect on a dropped pooled connection, then leave it to the sweep: the
# request (or the sweep) does not wait on a broker that is down.
SEND_RETRY_POLICY: dict[str, Any] = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
SWEEP_BATCH = 1000
# After the broker refused a message, the sends that follow a commit skip it for
# this long (per broker URL, per process) and leave their messages to the sweep:
# a request does not wait out one connection timeout per message on a broker
# that is down. The sweep, and a training start, always try.
BROKER_COOLDOWN_SECONDS = 10.0
_broker_down_until: dict[str, float] = {}
# Errors no retry can fix: the message fails for good.
PERMANENT_ERRORS = (NotRegistered, EncodeError)


class Sent(enum.Enum):
    SENT = "sent"
    SKIPPED = "skipped"  # already sent, failed for good, or claimed by another dispatcher
    BROKER_DOWN = "broker down"  # left pending for the sweep
    FAILED = "failed"  # refused for good


def enqueue(
    task_name: str,
    *args: Any,
    options: dict[str, Any] | None = None,
    countdown: float | None = None,
    **kwargs: Any,
) -> OutboxMessage:
    """Record a task to send after the current transaction commits (at once
    outside a transaction). `countdown` seconds delay its start (an eta)."""
    now = timezone.now()
    message = OutboxMessage.objects.create(
        task_name=task_name,
        args=list(args),
        kwargs=kwargs,
        options=options or {},
        not_before=now + timedelta(seconds=countdown) if countdown else None,
        created_at=now,
    )
    transaction.on_commit(partial(dispatch, message.pk))
    return message


def send_now(task_name: str, *args: Any, options: dict[str, Any] | None = None) -> str:
    """Record and send a task at once, for a caller that waits on the answer
    (starting a training). A broker error is raised to the caller and fails the
    message for good, so it is never sent later behind the caller's back.
    Returns the Celery task id."""
    now = timezone.now()
    message = OutboxMessage.objects.create(
        task_name=task_name,
        args=list(args),
        options=options or {},
        created_at=now,
        attempts=1,
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
    )
    try:
        result = _publish(message)
    except Exception as exc:
        # Whatever refused it, the caller records and reports it.
        _fail(message.pk, exc)
        raise
    _mark_dispatched(message.pk, result.id or "")
    return result.id or ""


def dispatch(message_id: int, *, sweeping: bool = False) -> Sent:
    """Send one pending message unless another dispatcher holds it. Never raises
    for a broker error (the message stays pending for the sweep). Outside a
    sweep, a broker that refused a message moments ago is not tried again."""
    if not sweeping and not _eager() and _cooling_down():
        return Sent.BROKER_DOWN
    if not _claim(message_id):
        return Sent.SKIPPED
    message = OutboxMessage.objects.get(pk=message_id)
    if _eager():
        # The task runs right here and raises its own errors, as eager tasks do;
        # it counts as sent before it starts.
        _mark_dispatched(message.pk, "")
        _publish(message)
        return Sent.SENT
    try:
        result = _publish(message)
    except PERMANENT_ERRORS as exc:
        _fail(message.pk, exc)
        logger.error(
            "outbox message %s (%s) refused for good: %s", message.pk, message.task_name, exc
        )
        return Sent.FAILED
    except Exception as exc:
        # The data this message belongs to has committed: whatever the broker
        # says, the message waits for the next sweep instead of failing a request.
        OutboxMessage.objects.filter(pk=message.pk).update(
            claimed_until=None, last_error=_describe(exc)
        )
        _broker_down_until[_broker()] = time.monotonic() + BROKER_COOLDOWN_SECONDS
        logger.warning(
            "outbox message %s (%s) not sent, left for the sweep: %s",
            message.pk,
            message.task_name,
            _describe(exc),
        )
        return Sent.BROKER_DOWN
    _mark_dispatched(message.pk, result.id or "")
    _broker_down_until.pop(_broker(), None)
    return Sent.SENT


@dataclass
class SweepResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    broker_down: bool = False
    purged: int = 0


def dispatch_pending(limit: int = SWEEP_BATCH) -> SweepResult:
    """Send pending messages, oldest first, stopping at the first broker error
    (the rest would meet the same broker); forget dispatched ones older than
    TAGGER_OUTBOX_KEEP_DAYS."""
    result = SweepResult()
    now = timezone.now()
    ids = list(_available(now).order_by("id").values_list("id", flat=True)[: max(0, limit)])
    for message_id in ids:
        outcome = dispatch(message_id, sweeping=True)
        if outcome is Sent.SENT:
            result.sent += 1
        elif outcome is Sent.FAILED:
            result.failed += 1
        elif outcome is Sent.SKIPPED:
            result.skipped += 1
        else:
            result.broker_down = True
            break
    keep = timedelta(days=settings.TAGGER_OUTBOX_KEEP_DAYS)
    result.purged, _ = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.DISPATCHED, dispatched_at__lt=now - keep
    ).delete()
    if result.sent or result.failed or result.broker_down:
        logger.info(
            "outbox sweep: %d sent, %d failed%s",
            result.sent,
            result.failed,
            ", broker down" if result.broker_down else "",
        )
    return result


def counts() -> dict[str, int]:
    """Messages per status (for operators)."""
    found = dict(
        OutboxMessage.objects.values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: found.get(status, 0) for status in OutboxMessage.Status.values}


def _available(now: Any) -> Any:
    return OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _claim(message_id: int) -> bool:
    now = timezone.now()
    return bool(
        _available(now)
        .filter(pk=message_id)
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
    )


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def _broker() -> str:
    return str(current_app.conf.broker_url or "")


def _cooling_down() -> bool:
    return time.monotonic() < _broker_down_until.get(_broker(), 0.0)


def _publish(message: OutboxMessage) -> AsyncResult:
    task = current_app.tasks[message.task_name]
    options: dict[str, Any] = {"retry": True, "retry_policy": SEND_RETRY_POLICY}
    options.update(message.options)
    if message.not_before is not None and message.not_before > timezone.now():
        options["eta"] = message.not_before
    return task.apply_async(args=message.args, kwargs=message.kwargs, **options)


def _mark_dispatched(message_id: int, task_id: str) -> None:
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.DISPATCHED,
        dispatched_at=timezone.now(),
        claimed_until=None,
        last_error="",
        task_id=task_id,
    )


def _fail(message_id: int, exc: BaseException) -> None:
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.FAILED, claimed_until=None, last_error=_describe(exc)
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
