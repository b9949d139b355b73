import logging

from celery import shared_task

from annotation.services import outbox, queue, webhooks
from annotation.services.importing import background

logger = logging.getLogger(__name__)


@shared_task(name="annotation.tasks.run_import", ignore_result=True)
def run_import(batch_id: int) -> None:
    """Import an uploaded file the import page or the API queued."""
    background.run_queued_import(batch_id)


@shared_task(name="annotation.tasks.fail_stale_imports", ignore_result=True)
def fail_stale_imports() -> int:
    """Beat task: fail imports whose worker died mid-run (idempotent)."""
    return background.fail_stale_imports()


@shared_task(name="annotation.tasks.release_expired_leases", ignore_result=True)
def release_expired_leases() -> int:
    """Beat task: clear review leases that ran out (idempotent)."""
    return queue.release_expired_leases()


# Kept here for callers that read it from the task module.
WEBHOOK_MAX_ATTEMPTS = webhooks.MAX_ATTEMPTS


@shared_task(name="annotation.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt at a signed webhook delivery; the service records the outcome
    and queues the next attempt (with backoff) through the outbox."""
    webhooks.deliver(delivery_id)


@shared_task(name="annotation.tasks.dispatch_outbox", ignore_result=True)
def dispatch_outbox() -> int:
    """Beat task: send the outbox messages still pending (the broker was down
    when their transaction committed). Returns how many were sent."""
    return outbox.dispatch_pending().sent
