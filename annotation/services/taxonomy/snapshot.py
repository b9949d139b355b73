"""The taxonomy as the review page reads it, one copy per process.

Every review page needs the shown tags with their facets, the names that more
than one tag carries and the category rules: the same few hundred rows, read
by several queries on every page, that change a few times a day. Each process
keeps one copy (`current()`, a `ProcessCopy`: see there how it stays no older
than the last commit): any change to a tag, a facet or a category rule calls
`changed()`, from model signals and from the few queryset updates.

Batch work (scoring, training) reads the database itself (`load()`): it runs in
other processes, where a test's local cache cannot reach.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from annotation.models import CategoryFacet, Tag, TagGroup
from annotation.services.process_copy import ProcessCopy

# The facet playing the category's part when no facet is marked.
DEFAULT_CATEGORY_FACET = "category"


def pick_category_facet(groups: Iterable[TagGroup]) -> TagGroup | None:
    """The facet whose tag names a product's category: the one an admin marked,
    else the one named "category"; None when there is neither."""
    named = None
    for group in groups:
        if group.is_category:
            return group
        if group.name == DEFAULT_CATEGORY_FACET:
            named = group
    return named


@dataclass(frozen=True)
class Taxonomy:
    """Every facet and tag (each tag's group attached: `tag.group` reads no row)
    and the admins' category rules. Shared between threads: read, never change."""

    groups: dict[int, TagGroup]
    tags: dict[int, Tag]
    # Casefolded names carried by more than one active tag.
    shared_names: frozenset[str]
    category_facet: TagGroup | None
    # category tag key -> {facet name: allowed}, for tags of the category facet.
    overrides: dict[str, dict[str, bool]]

    def ordered_groups(self) -> list[TagGroup]:
        return sorted(self.groups.values(), key=lambda g: (g.position, g.name))

    def tags_with_groups(self, ids: Iterable[int]) -> dict[int, Tag]:
        """The tags with these ids, their groups attached: from this copy, and from
        the database for any it does not hold (one created since it was read)."""
        wanted = set(ids)
        found = {pk: self.tags[pk] for pk in wanted if pk in self.tags}
        missing = wanted - found.keys()
        if missing:
            found.update(Tag.objects.select_related("group").in_bulk(missing))
        return found


def load() -> Taxonomy:
    """The taxonomy as the database holds it now (three queries)."""
    groups = {group.pk: group for group in TagGroup.objects.all()}
    tags: dict[int, Tag] = {}
    for tag in Tag.objects.all().order_by():
        tag.group = groups[tag.group_id]
        tags[tag.pk] = tag
    names = Counter(tag.name.casefold() for tag in tags.values() if tag.is_active)
    facet = pick_category_facet(groups.values())
    overrides: dict[str, dict[str, bool]] = {}
    if facet is not None:
        rows = CategoryFacet.objects.filter(category__group=facet).values_list(
            "category_id", "facet_id", "allowed"
        )
        for category_id, facet_id, allowed in rows:
            overrides.setdefault(tags[category_id].key, {})[groups[facet_id].name] = allowed
    return Taxonomy(
        groups=groups,
        tags=tags,
        shared_names=frozenset(name for name, n in names.items() if n > 1),
        category_facet=facet,
        overrides=overrides,
    )


_copy = ProcessCopy("taxonomy", load)
GENERATION_KEY = _copy.generation_key

# The taxonomy changed (a tag, a facet or a category rule).
changed = _copy.changed
# This process's copy of the taxonomy, read again when it changed.
current = _copy.current
forget = _copy.forget
watch = _copy.watch
