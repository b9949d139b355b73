import logging

from celery import Task, shared_task

from annotation.models import WebhookDelivery
from annotation.services import queue, webhooks

logger = logging.getLogger(__name__)


@shared_task(name="annotation.tasks.release_expired_leases", ignore_result=True)
def release_expired_leases() -> int:
    """Beat task: clear review leases that ran out (idempotent)."""
    return queue.release_expired_leases()


# Deliveries back off 10 s, 20 s, 40 s ... and give up after this many attempts.
WEBHOOK_MAX_ATTEMPTS = 6


@shared_task(
    bind=True,
    name="annotation.tasks.deliver_webhook",
    ignore_result=True,
    max_retries=WEBHOOK_MAX_ATTEMPTS - 1,
)
def deliver_webhook(self: Task, delivery_id: int) -> None:
    """Send one signed webhook delivery; retried with backoff while it fails."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        logger.info("webhook delivery %s is gone or already settled", delivery_id)
        return
    try:
        webhooks.attempt_delivery(delivery)
    except webhooks.DeliveryFailed as exc:
        if delivery.attempts >= WEBHOOK_MAX_ATTEMPTS:
            webhooks.give_up(delivery)
            return
        raise self.retry(exc=exc, countdown=10 * 2 ** (delivery.attempts - 1)) from exc
