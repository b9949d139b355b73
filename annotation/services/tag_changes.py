"""Recording that products' tag decisions changed: the export's change order and
the webhook notifications both follow from here."""

from collections.abc import Iterable

from django.utils import timezone

from annotation.models import Product
from annotation.services.webhooks import notify_approval_changes


def record_tag_changes(product_ids: Iterable[int]) -> None:
    """Record that these products' tag decisions changed, and tell webhooks.

    Call inside the transaction that changed them: the export's change order and
    the webhook notification then follow exactly what was committed.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return
    now = timezone.now()
    for start in range(0, len(ids), 1000):
        Product.objects.filter(pk__in=ids[start : start + 1000]).update(tags_updated_at=now)
    # In the same transaction: the deliveries and their outbox messages commit
    # with the change, and are sent after it (or by the outbox sweep).
    notify_approval_changes(ids)
