"""Signed webhook deliveries of approval changes (Celery sends them).

Safe by construction:
- a webhook's URL is checked when it is registered or changed and again right
  before each delivery (``webhook_targets``: http(s) only, no credentials or
  control characters, public addresses only unless allow-listed), and the
  delivery connects to the address that was checked;
- redirects are never followed (a 3xx is a failed attempt);
- each delivery is signed the Standard Webhooks way (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">``), so a receiver can refuse replays (docs/security.md);
- a delivery belongs to the webhook version it was created for: once the hook
  is deactivated or re-pointed, its pending deliveries are cancelled, never sent;
- every attempt ends recorded: delivered, failed (with a generic reason for
  network errors, so the log is no port scanner) or retried through the outbox.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from annotation import jobs
from annotation.errors import WebhookError
from annotation.models import Product, ProductTag, Webhook, WebhookDelivery
from annotation.services import webhook_targets
from annotation.services.webhook_targets import HostUnresolved, TargetRefused

logger = logging.getLogger(__name__)

EVENT_TAGS_CHANGED = "tags.changed"
PRODUCTS_PER_DELIVERY = 500
TIMEOUT_SECONDS = 10
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 128
# Attempts back off 10 s, 20 s, 40 s ... and give up after this many.
MAX_ATTEMPTS = 6
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
# What the delivery log says about a network failure: the same words whether
# the connection was refused, reset, timed out or closed without an answer.
NETWORK_ERROR = "network error: the endpoint could not be reached or did not answer"


# -- registration -----------------------------------------------------------------------


def validate_url(url: str) -> str:
    """`url` if a webhook may point there now, else WebhookError saying why."""
    webhook_targets.check(url)
    return url


def validate_secret(secret: str) -> str:
    if not (SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH):
        raise WebhookError(
            _("The secret must be %(min)d to %(max)d characters long.")
            % {"min": SECRET_MIN_LENGTH, "max": SECRET_MAX_LENGTH}
        )
    return secret


def create_webhook(
    *, url: str, created_by: User | None, secret: str = "", active: bool = True
) -> Webhook:
    """Register a webhook. Without a secret one is generated; the caller shows it
    once (it is needed in clear to sign, so it is stored, but never listed)."""
    validate_url(url)
    return Webhook.objects.create(
        url=url,
        secret=validate_secret(secret) if secret else secrets.token_urlsafe(32),
        active=active,
        created_by=created_by,
    )


def update_webhook(
    hook: Webhook,
    *,
    url: str | None = None,
    secret: str | None = None,
    active: bool | None = None,
) -> Webhook:
    """Change a webhook. A new URL starts a new version of it: deliveries created
    before are cancelled (never sent to the new address), as are all pending
    ones when it is deactivated."""
    fields: list[str] = []
    repointed = url is not None and url != hook.url
    if repointed:
        hook.url = validate_url(url or "")
        hook.version += 1
        fields += ["url", "version"]
    if secret is not None:
        hook.secret = validate_secret(secret)
        fields.append("secret")
    if active is not None and active != hook.active:
        hook.active = active
        fields.append("active")
    if not fields:
        return hook
    with transaction.atomic():
        hook.save(update_fields=fields)
        if repointed or not hook.active:
            reason = "the webhook was re-pointed" if repointed else "the webhook was deactivated"
            WebhookDelivery.objects.filter(
                webhook=hook, status=WebhookDelivery.Status.PENDING
            ).update(status=WebhookDelivery.Status.CANCELLED, error=reason)
    return hook


# -- signing ----------------------------------------------------------------------------


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature: ``v1,`` and the base64 HMAC-SHA256, keyed
    with the secret's UTF-8 bytes, of ``{id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def message_id(delivery: WebhookDelivery) -> str:
    """The same for every attempt of one delivery, so receivers can drop repeats."""
    return f"msg_{delivery.pk}"


# -- creating deliveries ----------------------------------------------------------------


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
    """Queue one delivery per active webhook per chunk of products; returns the
    count. Call it inside the transaction that changed the products: the
    deliveries and their outbox messages commit (or roll back) with it."""
    hooks = list(Webhook.objects.filter(active=True))
    if not hooks or not product_ids:
        return 0
    created = 0
    ids = list(product_ids)
    for start in range(0, len(ids), PRODUCTS_PER_DELIVERY):
        payload = _payload(ids[start : start + PRODUCTS_PER_DELIVERY])
        with transaction.atomic():
            for hook in hooks:
                delivery = WebhookDelivery.objects.create(
                    webhook=hook,
                    url=hook.url,
                    webhook_version=hook.version,
                    event=EVENT_TAGS_CHANGED,
                    payload=payload,
                )
                jobs.deliver_webhook(delivery.pk)
                created += 1
    return created


# -- delivering -------------------------------------------------------------------------


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # worth another attempt later
    FINAL = "final"  # no later attempt can succeed (a refused target)


@dataclass
class _Attempt:
    outcome: Outcome
    code: int | None = None
    error: str = ""


def deliver(delivery_id: int) -> None:
    """One attempt at a delivery, for the Celery task: skipped when the delivery
    is gone or settled, cancelled when its webhook moved on, and otherwise
    recorded as delivered, failed, or retried later through the outbox."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        logger.info("webhook delivery %s is gone or already settled", delivery_id)
        return
    stale = _stale(delivery)
    if stale:
        _settle(delivery, WebhookDelivery.Status.CANCELLED, stale)
        return
    # Claim this attempt: a duplicate task for the same attempt finds nothing to do.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=delivery.attempts + 1)
    if not claimed:
        logger.info("webhook delivery %s is being attempted elsewhere", delivery_id)
        return
    delivery.attempts += 1
    try:
        attempt = attempt_delivery(delivery)
    except Exception as exc:
        # Whatever went wrong, the delivery ends recorded, never stuck pending.
        logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        _settle(delivery, WebhookDelivery.Status.FAILED, f"internal error ({type(exc).__name__})")
        return
    delivery.response_code = attempt.code
    if attempt.outcome is Outcome.DELIVERED:
        delivery.delivered_at = timezone.now()
        _settle(delivery, WebhookDelivery.Status.DELIVERED, "")
        return
    logger.warning("webhook delivery %s failed: %s", delivery.pk, attempt.error)
    if attempt.outcome is Outcome.FINAL or delivery.attempts >= MAX_ATTEMPTS:
        _settle(delivery, WebhookDelivery.Status.FAILED, attempt.error)
        return
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            response_code=attempt.code, error=attempt.error
        )
        jobs.deliver_webhook(delivery.pk, countdown=retry_delay(delivery.attempts))


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt after `attempts` failed ones."""
    return 10 * 2 ** (attempts - 1)


def attempt_delivery(delivery: WebhookDelivery) -> _Attempt:
    """Check the target again and POST the signed payload once, to the checked
    address, following no redirect."""
    try:
        target = webhook_targets.check(delivery.url or delivery.webhook.url)
    except TargetRefused:
        return _Attempt(Outcome.FINAL, error="target refused: internal or reserved address")
    except HostUnresolved:
        return _Attempt(Outcome.RETRY, error="the host name could not be resolved")
    except WebhookError:
        return _Attempt(Outcome.FINAL, error="target refused: the URL is not valid")
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    mid = message_id(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tagger-Webhooks/2",
        ID_HEADER: mid,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(delivery.webhook.secret, mid, timestamp, body),
        "X-Tagger-Event": delivery.event,
        "X-Tagger-Delivery": str(delivery.pk),
    }
    code = _post(target, body, headers)
    if code is None:
        return _Attempt(Outcome.RETRY, error=NETWORK_ERROR)
    if 200 <= code < 300:
        return _Attempt(Outcome.DELIVERED, code=code)
    if 300 <= code < 400:
        return _Attempt(Outcome.RETRY, code=code, error=f"HTTP {code}: redirects are not followed")
    return _Attempt(Outcome.RETRY, code=code, error=f"HTTP {code}")


def _post(target: webhook_targets.Target, body: bytes, headers: dict[str, str]) -> int | None:
    """The status of one POST to the first checked address that answers; None
    on a network failure (logged in detail here, recorded generically)."""
    for address in target.addresses:
        connection = webhook_targets.pinned_connection(target, address, TIMEOUT_SECONDS)
        try:
            connection.request("POST", target.request_path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            logger.info("webhook POST to %s (%s) failed: %r", target.host, address, exc)
        finally:
            connection.close()
    return None


def _stale(delivery: WebhookDelivery) -> str:
    hook = delivery.webhook
    if not hook.active:
        return "the webhook was deactivated"
    if delivery.webhook_version != hook.version:
        return "the webhook was re-pointed"
    return ""


def _settle(delivery: WebhookDelivery, status: str, error: str) -> None:
    delivery.status = status
    delivery.error = error
    delivery.save(update_fields=["status", "error", "response_code", "delivered_at"])
