"""Write validated rows: products upserted by external id in chunks, and the
imported tags applied without overriding human decisions."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Field, Model
from django.db.models.fields.reverse_related import ForeignObjectRel

from annotation.models import ImportBatch, Product, ProductTag, ReviewEvent
from annotation.services.importing.created import batch_note
from annotation.services.importing.rows import ProductRow
from annotation.services.importing.tags import TagResolver
from annotation.services.tag_changes import record_tag_changes

_UPDATE_FIELDS = [
    "title",
    "description",
    "brand",
    "category_path",
    "attributes",
    "image_url",
    "language",
    "normalized_text",
    "content_hash",
    "import_batch",
    "updated_at",
]
_TAG_UPDATE_FIELDS = [*ProductTag.DECISION_FIELDS, "updated_at"]
_PRODUCT_INSERT_FIELDS = [
    "external_id",
    "title",
    "description",
    "brand",
    "category_path",
    "attributes",
    "image_url",
    "language",
    "normalized_text",
    "content_hash",
    "import_batch",
]
_TAG_INSERT_FIELDS = [
    "product",
    "tag",
    "state",
    "source",
    "decided_by",
    "decided_at",
    "updated_at",
]
_EVENT_INSERT_FIELDS = [
    "user",
    "created_at",
    "product",
    "tag",
    "action",
    "previous_state",
    "new_state",
    "note",
]
APPROVED = ProductTag.State.APPROVED
REJECTED = ProductTag.State.REJECTED


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    tags_applied: int = 0
    tags_withdrawn: int = 0


# One row of database-ready values (ids, strings, prepared values) for an INSERT.
DbRow = tuple[Any, ...]


def _column(field: Field | ForeignObjectRel) -> str:
    assert isinstance(field, Field), f"{field} is a concrete field"
    assert field.column, f"{field} has a column"
    return field.column


class _Inserter:
    """Plain multi-row INSERTs for the bulk of an import: a product carries ~7
    tags and each tag an audit event, and building and preparing 200,000 model
    instances cost most of a 15,000-product import, the SQL a fraction.

    The caller gives `fields` already in database form (ids, strings, and
    values passed through `get_db_prep_save`); every other column gets its
    field default (or `now` for auto_now fields), prepared once, so a field
    added to the model later still gets its default here."""

    def __init__(self, model: type[Model], fields: list[str], now: datetime) -> None:
        meta = model._meta
        given = [meta.get_field(name) for name in fields]
        rest = [f for f in meta.concrete_fields if not f.primary_key and f.name not in fields]
        self.constants = tuple(
            f.get_db_prep_save(
                now
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                else f.get_default(),
                connection,
            )
            for f in rest
        )
        quote = connection.ops.quote_name
        columns = ", ".join(quote(_column(f)) for f in [*given, *rest])
        marks = ", ".join(["%s"] * (len(given) + len(rest)))
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"

    def insert(self, rows: list[DbRow]) -> None:
        if not rows:
            return
        constants = self.constants
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 5000):
                cursor.executemany(
                    self.sql, [row + constants for row in rows[start : start + 5000]]
                )


def _update_product(row: ProductRow, pk: int, batch: ImportBatch, now: datetime) -> Product:
    return Product(
        pk=pk,
        external_id=row.external_id,
        title=row.title,
        description=row.description,
        brand=row.brand,
        category_path=row.category_path,
        attributes=row.attributes,
        image_url=row.image_url,
        language=row.language,
        normalized_text=row.normalized_text,
        content_hash=row.content_hash,
        import_batch=batch,
        updated_at=now,
    )


class _Writer:
    def __init__(
        self, batch: ImportBatch, user: User | None, resolver: TagResolver, now: datetime
    ) -> None:
        self.batch = batch
        self.user = user
        self.resolver = resolver
        self.now = now
        self.counts = WriteCounts()
        self.note = batch_note(batch.pk)
        self.touched: set[int] = set()
        self.user_id = user.pk if user is not None else None
        self.db_now = connection.ops.adapt_datetimefield_value(now)
        self.products = _Inserter(Product, _PRODUCT_INSERT_FIELDS, now)
        self.product_tags = _Inserter(ProductTag, _TAG_INSERT_FIELDS, now)
        self.events = _Inserter(ReviewEvent, _EVENT_INSERT_FIELDS, now)
        self._attributes = Product._meta.get_field("attributes")
        self._tags: dict[tuple[str, str], int] = {}

    def chunk(self, rows: Sequence[ProductRow]) -> None:
        existing = {
            ext: (pk, digest)
            for pk, ext, digest in Product.objects.filter(
                external_id__in=[row.external_id for row in rows]
            ).values_list("id", "external_id", "content_hash")
        }
        created: list[ProductRow] = []
        updated: list[Product] = []
        changed: list[tuple[ProductRow, bool]] = []
        for row in rows:
            found = existing.get(row.external_id)
            if found is None:
                created.append(row)
            elif found[1] == row.content_hash:
                self.counts.unchanged += 1
                continue
            else:
                updated.append(_update_product(row, found[0], self.batch, self.now))
            changed.append((row, found is None))
        self.products.insert(
            [
                (
                    row.external_id,
                    row.title,
                    row.description,
                    row.brand,
                    row.category_path,
                    self._attributes.get_db_prep_save(row.attributes, connection),
                    row.image_url,
                    row.language,
                    row.normalized_text,
                    row.content_hash,
                    self.batch.pk,
                )
                for row in created
            ]
        )
        if updated:
            Product.objects.bulk_update(updated, _UPDATE_FIELDS)
        ids = {ext: pk for ext, (pk, _) in existing.items()}
        if created:
            ids.update(
                Product.objects.filter(
                    external_id__in=[row.external_id for row in created]
                ).values_list("external_id", "id")
            )
        self.counts.created += len(created)
        self.counts.updated += len(updated)
        self._apply_tags(
            [(row, ids[row.external_id], new) for row, new in changed if row.tags is not None]
        )

    def _event(self, product_id: int, tag_id: int, action: str, before: str, after: str) -> DbRow:
        return (self.user_id, self.db_now, product_id, tag_id, action, before, after, self.note)

    def _tag_id(self, facet: str, name: str) -> int:
        key = (facet, name)
        if key not in self._tags:
            self._tags[key] = self.resolver.get_or_create(facet, name).pk
        return self._tags[key]

    def _apply_tags(self, items: list[tuple[ProductRow, int, bool]]) -> None:
        """The file's tag list is the product's complete imported tag set:
        missing tags are added, imported tags no longer listed are withdrawn
        (state rejected), and anything a human decided is left alone."""
        if not items:
            return
        current: dict[int, dict[int, ProductTag]] = {}
        old_ids = [product_id for _, product_id, new in items if not new]
        if old_ids:
            for existing in ProductTag.objects.filter(product_id__in=old_ids).only(
                "id", "product_id", "tag_id", "state", "source"
            ):
                current.setdefault(existing.product_id, {})[existing.tag_id] = existing
        to_create: list[DbRow] = []
        to_update: list[ProductTag] = []
        events: list[DbRow] = []
        for row, product_id, _ in items:
            have = current.get(product_id, {})
            wanted: set[int] = set()
            for facet, name in row.tags or []:
                tag_id = self._tag_id(facet, name)
                if tag_id in wanted:
                    continue
                wanted.add(tag_id)
                pt = have.get(tag_id)
                if pt is None:
                    to_create.append(
                        (
                            product_id,
                            tag_id,
                            APPROVED,
                            ProductTag.Source.IMPORT,
                            self.user_id,
                            self.db_now,
                            self.db_now,
                        )
                    )
                    events.append(self._event(product_id, tag_id, "import", "", APPROVED))
                elif pt.source == ProductTag.Source.HUMAN or (
                    pt.source == ProductTag.Source.IMPORT and pt.state == APPROVED
                ):
                    continue
                else:
                    events.append(self._event(product_id, tag_id, "import", pt.state, APPROVED))
                    self._set(pt, APPROVED)
                    to_update.append(pt)
                    self.counts.tags_applied += 1
            for tag_id, pt in have.items():
                if (
                    tag_id not in wanted
                    and pt.source == ProductTag.Source.IMPORT
                    and pt.state == APPROVED
                ):
                    events.append(self._event(product_id, tag_id, "remove", APPROVED, REJECTED))
                    self._set(pt, REJECTED)
                    to_update.append(pt)
                    self.counts.tags_withdrawn += 1
        self.touched.update(values[0] for values in to_create)
        self.touched.update(pt.product_id for pt in to_update)
        self.product_tags.insert(to_create)
        if to_update:
            ProductTag.objects.bulk_update(to_update, _TAG_UPDATE_FIELDS, batch_size=500)
        self.events.insert(events)
        self.counts.tags_applied += len(to_create)

    def _set(self, pt: ProductTag, state: str) -> None:
        pt.state = state
        pt.source = ProductTag.Source.IMPORT
        pt.decided_by = self.user
        pt.decided_at = self.now
        pt.model_version = None
        pt.score = None
        pt.updated_at = self.now


def _record_created(batch: ImportBatch, resolver: TagResolver) -> None:
    """Store the facets and tags the resolver created on the batch, in the
    write transaction: rolled back with them. A second write into the same
    batch creates none of them again and adds no row twice."""
    facets = ImportBatch.created_facets.through
    facets.objects.bulk_create(
        [facets(importbatch_id=batch.pk, taggroup_id=pk) for pk in resolver.created_group_ids],
        batch_size=1000,
        ignore_conflicts=True,
    )
    tags = ImportBatch.created_tags.through
    tags.objects.bulk_create(
        [tags(importbatch_id=batch.pk, tag_id=pk) for pk in resolver.created_tag_ids],
        batch_size=1000,
        ignore_conflicts=True,
    )
    ImportBatch.objects.filter(pk=batch.pk).update(created_recorded=True)
    batch.created_recorded = True


def write_rows(
    chunks: Iterable[Sequence[ProductRow]],
    *,
    batch: ImportBatch,
    user: User | None,
    resolver: TagResolver,
    now: datetime,
) -> WriteCounts:
    """Upsert the rows, chunk by chunk (unique external ids; a few hundred rows
    a chunk, as `RowSpool.chunks` gives them). Call inside transaction.atomic():
    a failure part-way must leave nothing behind."""
    writer = _Writer(batch, user, resolver, now)
    for chunk in chunks:
        writer.chunk(chunk)
    _record_created(batch, resolver)
    # The export's change feed and the webhooks follow tag decisions.
    record_tag_changes(writer.touched)
    return writer.counts
