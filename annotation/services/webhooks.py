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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from annotation import jobs
from annotation.errors import WebhookError
from annotation.models import (
    ImportBatch,
    NotifiedTags,
    Product,
    ProductTag,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from annotation.models.integrations import default_webhook_events
from annotation.services import webhook_targets
from annotation.services.webhook_targets import HostUnresolved, TargetRefused

logger = logging.getLogger(__name__)

EVENT_TAGS_CHANGED = WebhookEvent.TAGS_CHANGED.value
TAGS_APPROVED = WebhookEvent.TAGS_APPROVED.value
TAGS_REMOVED = WebhookEvent.TAGS_REMOVED.value
MODEL_PROMOTED = WebhookEvent.MODEL_PROMOTED.value
IMPORT_FINISHED = WebhookEvent.IMPORT_FINISHED.value
TAG_EVENTS = (EVENT_TAGS_CHANGED, TAGS_APPROVED, TAGS_REMOVED)
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


def validate_events(events: Sequence[str]) -> list[str]:
    """The event types, each once, in WebhookEvent's order; WebhookError for an
    unknown one or none at all."""
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise WebhookError(
            _("Unknown event type %(name)s; known: %(known)s.")
            % {"name": unknown[0], "known": ", ".join(WebhookEvent.values)}
        )
    if not events:
        raise WebhookError(_("Choose at least one event type."))
    return [event for event in WebhookEvent.values if event in events]


def create_webhook(
    *,
    url: str,
    created_by: User | None,
    secret: str = "",
    active: bool = True,
    events: Sequence[str] | None = None,
) -> Webhook:
    """Register a webhook for `events` (`tags.changed` alone by default). Without
    a secret one is generated; the caller shows it once (it is needed in clear to
    sign, so it is stored, but never listed)."""
    validate_url(url)
    return Webhook.objects.create(
        url=url,
        secret=validate_secret(secret) if secret else secrets.token_urlsafe(32),
        active=active,
        events=validate_events(events) if events is not None else default_webhook_events(),
        created_by=created_by,
    )


def update_webhook(
    hook: Webhook,
    *,
    url: str | None = None,
    secret: str | None = None,
    active: bool | None = None,
    events: Sequence[str] | None = None,
) -> Webhook:
    """Change a webhook. A new event list applies to changes from now on. A new URL starts a new version of it: deliveries created
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
    if events is not None:
        hook.events = validate_events(events)
        fields.append("events")
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


def _approved_keys(product_ids: Sequence[int]) -> tuple[dict[int, str], dict[int, list[str]]]:
    """External id and sorted approved tag keys ("facet:value") of each product
    that still exists."""
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
    return external, {pid: sorted(keys) for pid, keys in approved.items() if pid in external}


def _envelope(event: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "sent_at": timezone.now().isoformat(), **body}


def _payload(product_ids: Sequence[int]) -> dict:
    """The `tags.changed` payload: each product's complete approved set."""
    external, approved = _approved_keys(product_ids)
    return _envelope(
        EVENT_TAGS_CHANGED,
        {
            "products": [
                {"id": external[pid], "tags": approved[pid]}
                for pid in product_ids
                if pid in external
            ]
        },
    )


def _differences(
    product_ids: Sequence[int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per product, the approved tags gained and lost since the last notification
    of either kind, and remember the new sets for the next one."""
    external, approved = _approved_keys(product_ids)
    known = dict(
        NotifiedTags.objects.filter(product_id__in=list(approved)).values_list("product_id", "tags")
    )
    gained: list[dict[str, Any]] = []
    lost: list[dict[str, Any]] = []
    for pid, now in approved.items():
        before = set(known.get(pid) or [])
        added = sorted(set(now) - before)
        removed = sorted(before - set(now))
        if added:
            gained.append({"id": external[pid], "tags": added})
        if removed:
            lost.append({"id": external[pid], "tags": removed})
    NotifiedTags.objects.bulk_create(
        [NotifiedTags(product_id=pid, tags=tags) for pid, tags in approved.items()],
        update_conflicts=True,
        unique_fields=["product"],
        update_fields=["tags"],
    )
    return gained, lost


def _deliver_to(hooks: Sequence[Webhook], event: str, payload: dict[str, Any]) -> int:
    """One delivery of `payload` per hook that listens to `event`, each sent
    through the outbox once the surrounding transaction commits."""
    created = 0
    with transaction.atomic():
        for hook in hooks:
            if event not in hook.events:
                continue
            delivery = WebhookDelivery.objects.create(
                webhook=hook,
                url=hook.url,
                webhook_version=hook.version,
                event=event,
                payload=payload,
            )
            jobs.deliver_webhook(delivery.pk)
            created += 1
    return created


def _listening(*events: str) -> list[Webhook]:
    return [
        hook
        for hook in Webhook.objects.filter(active=True)
        if any(event in hook.events for event in events)
    ]


def notify_approval_changes(product_ids: Sequence[int]) -> int:
    """Queue the tag events for these changed products, one delivery per
    listening webhook per chunk of products; returns the count. `tags.changed`
    carries each product's approved set; `tags.approved` and `tags.removed` the
    tags gained and lost since the last of them (a product that gained and lost
    nothing is left out of both). Call it inside the transaction that changed the
    products: the deliveries and their outbox messages commit (or roll back) with it."""
    hooks = _listening(*TAG_EVENTS)
    if not hooks or not product_ids:
        return 0
    differences = any(
        event in hook.events for hook in hooks for event in (TAGS_APPROVED, TAGS_REMOVED)
    )
    created = 0
    ids = list(product_ids)
    for start in range(0, len(ids), PRODUCTS_PER_DELIVERY):
        chunk = ids[start : start + PRODUCTS_PER_DELIVERY]
        created += _deliver_to(hooks, EVENT_TAGS_CHANGED, _payload(chunk))
        if differences:
            gained, lost = _differences(chunk)
            if gained:
                created += _deliver_to(
                    hooks, TAGS_APPROVED, _envelope(TAGS_APPROVED, {"products": gained})
                )
            if lost:
                created += _deliver_to(
                    hooks, TAGS_REMOVED, _envelope(TAGS_REMOVED, {"products": lost})
                )
    return created


def notify_model_promoted(
    *, version_id: int, mode: str, base_model: str, promoted_at: datetime, previous_id: int | None
) -> int:
    """Queue `model.promoted` (call in the promotion's transaction)."""
    hooks = _listening(MODEL_PROMOTED)
    if not hooks:
        return 0
    body = {
        "model_version": {
            "id": version_id,
            "mode": mode,
            "base_model": base_model,
            "promoted_at": promoted_at.isoformat(),
            "previous_id": previous_id,
        }
    }
    return _deliver_to(hooks, MODEL_PROMOTED, _envelope(MODEL_PROMOTED, body))


def notify_import_finished(batch: ImportBatch, created: Callable[[], dict[str, Any]]) -> int:
    """Queue `import.finished` for a batch that succeeded or failed. `created`
    gives what it added to the taxonomy, as the REST API's import detail has it
    (`importing.created.CreatedTaxonomy.as_json()`: the importer passes it,
    since the importing package imports this module), read only when a
    webhook listens."""
    hooks = _listening(IMPORT_FINISHED)
    if not hooks:
        return 0
    body = {
        "import": {
            "id": batch.pk,
            "status": batch.status,
            "source": batch.source,
            "rows_total": batch.rows_total,
            "rows_created": batch.rows_created,
            "rows_updated": batch.rows_updated,
            "rows_unchanged": batch.rows_unchanged,
            "rows_rejected": batch.rows_rejected,
            "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
            "created": created(),
        }
    }
    return _deliver_to(hooks, IMPORT_FINISHED, _envelope(IMPORT_FINISHED, body))


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
