from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from annotation.models import Product


def touch_products(product_ids: Iterable[int]) -> None:
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
    from annotation.services.webhooks import notify_approval_changes

    transaction.on_commit(lambda: notify_approval_changes(ids))
