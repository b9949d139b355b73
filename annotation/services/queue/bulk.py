"""Bulk writes of queue entries in plain SQL.

The ORM's per-object cost (bulk_create, and bulk_update's CASE expression per
row) made queueing or re-ranking a 100k catalogue take minutes. PostgreSQL gets
one statement per chunk over unnest()ed arrays; SQLite, in-process, gets
executemany. Callers run each call inside a transaction.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Field

from annotation.models import QueueEntry

# Rows per statement (and per transaction in the callers).
WRITE_CHUNK = 5000

_meta = QueueEntry._meta


def _table() -> str:
    return connection.ops.quote_name(_meta.db_table)


def _column(field: str) -> str:
    f = _meta.get_field(field)
    assert isinstance(f, Field), f"{field} is a concrete field"
    assert f.column, f"{field} has a column"
    return connection.ops.quote_name(f.column)


def insert_entries(product_ids: list[int], reviews_needed: list[int]) -> int:
    """Queue these products as new entries (priority 0, new_product); products
    already queued are left alone (a concurrent import may have queued them).
    Returns the number inserted."""
    columns = ", ".join(
        _column(f)
        for f in ("product", "reviews_needed", "priority", "reason", "strategy", "reviews_done")
    )
    reason = QueueEntry.Reason.NEW_PRODUCT.value
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {_table()} ({columns}) "
                "SELECT v.product_id, v.needed, 0.0, %s, '', 0 "
                "FROM unnest(%s::bigint[], %s::integer[]) AS v(product_id, needed) "
                "ON CONFLICT DO NOTHING",
                [reason, product_ids, reviews_needed],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {_table()} ({columns}) VALUES (%s, %s, 0.0, %s, '', 0) "
                "ON CONFLICT DO NOTHING",
                [(pid, n, reason) for pid, n in zip(product_ids, reviews_needed, strict=True)],
            )
        return max(cursor.rowcount, 0)


def update_priorities(
    rows: Sequence[tuple[int, float, str]], strategy: str, version_id: int | None, now: datetime
) -> int:
    """Set (priority, reason) per product id on its entry, with the strategy,
    model version and ranking time, where the entry is not completed. The lease
    columns are not in the statement, so live leases stay as they are. Returns
    the number of entries updated."""
    set_shared = (
        f"{_column('strategy')} = %s, {_column('model_version')} = %s, {_column('ranked_at')} = %s"
    )
    ranked_at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {_table()} AS q SET {_column('priority')} = v.priority, "
                f"{_column('reason')} = v.reason, {set_shared} "
                "FROM unnest(%s::bigint[], %s::double precision[], %s::text[]) "
                "AS v(product_id, priority, reason) "
                f"WHERE q.{_column('product')} = v.product_id "
                f"AND q.{_column('completed_at')} IS NULL",
                [
                    strategy,
                    version_id,
                    ranked_at,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                ],
            )
        else:
            cursor.executemany(
                f"UPDATE {_table()} SET {_column('priority')} = %s, {_column('reason')} = %s, "
                f"{set_shared} WHERE {_column('product')} = %s "
                f"AND {_column('completed_at')} IS NULL",
                [
                    (priority, reason, strategy, version_id, ranked_at, pid)
                    for pid, priority, reason in rows
                ],
            )
        return max(cursor.rowcount, 0)
