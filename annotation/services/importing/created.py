"""What an import added to the taxonomy: the facets and tags its rows named
that did not exist, which the importer created (tags.TagResolver). The result
page lists them, so a typo in a facet or tag name is noticed.

The batch keeps no list of them; they are found again from the rows: a tag
the import created was created while the import ran and carries this import's
history (every decision an import writes is noted "import batch <id>", and a
new tag has no decision but the import's); a facet it created was created
while the import ran and holds such a tag."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

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


def created_taxonomy(batch: ImportBatch) -> CreatedTaxonomy:
    """The facets and tags `batch` created (nothing for an import that did not
    finish or saved nothing)."""
    if batch.status != ImportBatch.Status.SUCCEEDED or batch.finished_at is None:
        return CreatedTaxonomy()
    window = (batch.started_at, batch.finished_at)
    tags = (
        Tag.objects.filter(created_at__range=window)
        .filter(
            Exists(
                ReviewEvent.objects.filter(
                    tag=OuterRef("pk"), note=batch_note(batch.pk), previous_state=""
                )
            )
        )
        .select_related("group")
    )
    facets = TagGroup.objects.filter(
        created_at__range=window, pk__in=tags.values("group_id")
    ).order_by("name")
    facet_rows = list(facets)
    return CreatedTaxonomy(
        facet_count=len(facet_rows),
        tag_count=tags.count(),
        facets=facet_rows[:SHOWN],
        tags=list(tags.order_by("group__name", "name")[:SHOWN]),
        irregular_facets=[g for g in facet_rows if not is_facet_name(g.name)],
    )
