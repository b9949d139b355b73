"""Signed webhook deliveries of approval changes (Celery sends them)."""

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import ProductTag, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

EVENT_TAGS_CHANGED = "tags.changed"
PRODUCTS_PER_DELIVERY = 500
SIGNATURE_HEADER = "X-Tagger-Signature"
TIMEOUT_SECONDS = 10


def create_webhook(
    *, url: str, created_by: User | None, secret: str = "", active: bool = True
) -> Webhook:
    """Register a webhook. Without a secret one is generated; the caller shows it
    once (it is needed in clear to sign, so it is stored, but never listed)."""
    return Webhook.objects.create(
        url=url, secret=secret or secrets.token_urlsafe(32), active=active, created_by=created_by
    )


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _payload(product_ids: Sequence[int]) -> dict:
    approved: dict[int, list[str]] = {pid: [] for pid in product_ids}
    external: dict[int, str] = {}
    rows = ProductTag.objects.filter(product_id__in=product_ids).values_list(
        "product_id", "product__external_id", "tag__group__name", "tag__name", "state"
    )
    for pid, external_id, facet, name, state in rows:
        external[pid] = external_id
        if state == ProductTag.State.APPROVED:
            approved[pid].append(f"{facet}:{name}")
    if len(external) < len(product_ids):
        from annotation.models import Product

        missing = [pid for pid in product_ids if pid not in external]
        external.update(Product.objects.filter(pk__in=missing).values_list("pk", "external_id"))
    return {
        "event": EVENT_TAGS_CHANGED,
        "sent_at": timezone.now().isoformat(),
        "products": [
            {"id": external.get(pid, ""), "tags": sorted(approved[pid])}
            for pid in product_ids
            if pid in external
        ],
    }


def notify_approval_changes(product_ids: Sequence[int]) -> int:
    """Queue one delivery per active webhook per chunk of products; returns the count."""
    hooks = list(Webhook.objects.filter(active=True))
    if not hooks or not product_ids:
        return 0
    from annotation.tasks import deliver_webhook

    created = 0
    ids = list(product_ids)
    for start in range(0, len(ids), PRODUCTS_PER_DELIVERY):
        payload = _payload(ids[start : start + PRODUCTS_PER_DELIVERY])
        with transaction.atomic():
            for hook in hooks:
                delivery = WebhookDelivery.objects.create(
                    webhook=hook, event=EVENT_TAGS_CHANGED, payload=payload
                )
                transaction.on_commit(lambda pk=delivery.pk: deliver_webhook.delay(pk))
                created += 1
    return created


class DeliveryFailed(Exception):
    """A delivery attempt failed in a way worth retrying."""


def attempt_delivery(delivery: WebhookDelivery) -> None:
    """POST the payload once; record the outcome. Raises DeliveryFailed to retry."""
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - admins register http(s) URLs only
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Tagger-Webhooks/1",
            SIGNATURE_HEADER: sign(delivery.webhook.secret, body),
            "X-Tagger-Delivery": str(delivery.pk),
            "X-Tagger-Event": delivery.event,
        },
    )
    delivery.attempts += 1
    code: int | None = None
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    delivery.response_code = code
    delivery.error = error
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.error = ""
    delivery.save(update_fields=["attempts", "response_code", "error", "status", "delivered_at"])
    if delivery.status != WebhookDelivery.Status.DELIVERED:
        logger.warning("webhook delivery %s failed: %s", delivery.pk, error or code)
        raise DeliveryFailed(error or f"HTTP {code}")


def give_up(delivery: WebhookDelivery) -> None:
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.save(update_fields=["status"])
