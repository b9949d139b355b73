"""Resolve `facet:value` strings to tags, creating facets and tags on demand.

The whole taxonomy is loaded once per import (it holds hundreds or a few
thousand tags, never millions), so each row costs dictionary look-ups only.
"""

from annotation.models import Tag, TagGroup

# Tag strings whose verdict is remembered; a file with millions of distinct
# tags must not grow the cache without end.
_MAX_REMEMBERED = 65536


def _key(text: str) -> str:
    return text.strip().casefold()


class TagResolver:
    """Case-insensitive look-up by facet name, then by tag name or alias,
    following `merged_into` to the surviving tag."""

    def __init__(self) -> None:
        self._groups: dict[str, TagGroup] = {_key(g.name): g for g in TagGroup.objects.all()}
        tags = list(Tag.objects.all())
        self._by_id: dict[int, Tag] = {t.pk: t for t in tags}
        self._tags: dict[tuple[int, str], Tag] = {}
        for tag in tags:
            self._tags[(tag.group_id, _key(tag.name))] = tag
        # A tag's own name wins over another tag's alias.
        for tag in tags:
            for alias in tag.aliases or []:
                if isinstance(alias, str) and alias.strip():
                    self._tags.setdefault((tag.group_id, _key(alias)), tag)
        self._problems: dict[tuple[str, str], str | None] = {}
        # The ids of the facets and tags this resolver created, noted as they
        # are created: a row found by get_or_create that another import created
        # meanwhile is not among them. write_rows stores them on the batch.
        self.created_group_ids: list[int] = []
        self.created_tag_ids: list[int] = []

    def _follow(self, tag: Tag) -> Tag:
        seen = {tag.pk}
        while tag.merged_into_id is not None and tag.merged_into_id in self._by_id:
            tag = self._by_id[tag.merged_into_id]
            if tag.pk in seen:
                break
            seen.add(tag.pk)
        return tag

    def lookup(self, facet: str, value: str) -> Tag | None:
        group = self._groups.get(_key(facet))
        if group is None:
            return None
        tag = self._tags.get((group.pk, _key(value)))
        return None if tag is None else self._follow(tag)

    def problem(self, facet: str, value: str) -> str | None:
        """Why this tag cannot be applied, or None when it can (it may be new)."""
        key = (facet, value)
        if key in self._problems:
            return self._problems[key]
        problem = self._problem(facet, value)
        if len(self._problems) < _MAX_REMEMBERED:
            self._problems[key] = problem
        return problem

    def _problem(self, facet: str, value: str) -> str | None:
        tag = self.lookup(facet, value)
        if tag is not None and not tag.is_active:
            return (
                f"the tag {facet}:{value} is deprecated; remove it from the file or "
                "use an active tag"
            )
        return None

    def get_or_create(self, facet: str, value: str) -> Tag:
        """The tag for `facet:value`, creating the facet and tag when new.
        Call inside the import's transaction."""
        tag = self.lookup(facet, value)
        if tag is not None:
            return tag
        group = self._groups.get(_key(facet))
        if group is None:
            group, created = TagGroup.objects.get_or_create(name=facet.strip())
            if created:
                self.created_group_ids.append(group.pk)
            self._groups[_key(facet)] = group
        tag, created = Tag.objects.get_or_create(group=group, name=value.strip())
        if created:
            self.created_tag_ids.append(tag.pk)
        self._by_id[tag.pk] = tag
        self._tags[(group.pk, _key(value))] = tag
        return self._follow(tag)
