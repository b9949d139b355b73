"""What an import added to the taxonomy: the facets and tags its rows named
that did not exist, which the importer created (tags.TagResolver). The result
page, the REST API's import detail, the `import_products` command and the
`import.finished` webhook list them, so a typo in a facet or tag name is noticed.

The importer stores them on the batch (`ImportBatch.created_facets` and
`created_tags`) in its write transaction. Batches written before it did
(`created_recorded` false) have them worked out again from the rows: a tag the
import created was created while the import ran and carries this import's
history (every decision an import writes is noted "import batch <id>", and a
new tag has no decision but the import's); a facet it created was created
while the import ran and holds such a tag. That guess lists a tag twice when
two imports ran at once and both used it."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import ImportBatch, ReviewEvent, Tag, TagGroup
from annotation.services.taxonomy.names import is_facet_name

# How many names of each the page shows; the counts cover the rest.
SHOWN = 10


def batch_note(batch_id: int) -> str:
    """The note on every history event an import writes."""
    return f"import batch {batch_id}"


@dataclass(frozen=True)
class CreatedTaxonomy:
    facet_count: int = 0
    tag_count: int = 0
    # The first SHOWN of each, by name (tags with their facet).
    facets: list[TagGroup] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    # Every created facet whose name breaks the rule for facet names
    # (names.is_facet_name): an import still creates it, and says so.
    irregular_facets: list[TagGroup] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.facet_count or self.tag_count)

    def as_json(self) -> dict[str, Any]:
        """The `created` of the REST API's import detail and of the
        `import.finished` webhook (the ImportCreated schema component)."""
        irregular = self.irregular_facets
        return {
            "facets": {
                "count": self.facet_count,
                "first": [_facet_json(g) for g in self.facets],
                "irregular": {
                    "count": len(irregular),
                    "first": [_facet_json(g) for g in irregular[:SHOWN]],
                },
            },
            "tags": {
                "count": self.tag_count,
                "first": [{"id": t.pk, "key": t.key} for t in self.tags],
            },
        }


def _facet_json(facet: TagGroup) -> dict[str, Any]:
    return {"id": facet.pk, "name": facet.name}


def created_taxonomy(batch: ImportBatch) -> CreatedTaxonomy:
    """The facets and tags `batch` created (nothing for an import that did not
    finish or saved nothing). A few queries, whatever the import created: the
    counts, the first SHOWN tags, and the created facets (a handful)."""
    if batch.status != ImportBatch.Status.SUCCEEDED or batch.finished_at is None:
        return CreatedTaxonomy()
    if batch.created_recorded:
        tags = batch.created_tags.all()
        facets = batch.created_facets.all()
    else:
        tags, facets = _inferred(batch)
    facet_rows = list(facets.order_by("name"))
    return CreatedTaxonomy(
        facet_count=len(facet_rows),
        tag_count=tags.count(),
        facets=facet_rows[:SHOWN],
        tags=list(tags.select_related("group").order_by("group__name", "name")[:SHOWN]),
        irregular_facets=[g for g in facet_rows if not is_facet_name(g.name)],
    )


def _inferred(batch: ImportBatch) -> tuple[QuerySet[Tag], QuerySet[TagGroup]]:
    """What a batch imported before the lists were stored created, found from
    its history notes (see the module's docstring)."""
    window = (batch.started_at, batch.finished_at)
    tags = Tag.objects.filter(created_at__range=window).filter(
        Exists(
            ReviewEvent.objects.filter(
                tag=OuterRef("pk"), note=batch_note(batch.pk), previous_state=""
            )
        )
    )
    facets = TagGroup.objects.filter(created_at__range=window, pk__in=tags.values("group_id"))
    return tags, facets
