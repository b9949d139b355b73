"""Taxonomy operations: import a facet/tag file, rename, merge, deprecate, and
edit aliases. Each runs in one transaction and keeps the review history."""

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import ProductTag, ReviewEvent, Suggestion, Tag, TagGroup
from annotation.services.changes import touch_products
from training.ml.text import clean_text

logger = logging.getLogger(__name__)

MAX_FACET = 100
MAX_TAG = 200

# Which decision survives when a merge finds both tags on one product.
_SOURCE_RANK = {ProductTag.Source.HUMAN: 3, ProductTag.Source.IMPORT: 2, ProductTag.Source.AUTO: 1}
_STATE_RANK = {ProductTag.State.APPROVED: 1, ProductTag.State.REJECTED: 0}


@dataclass
class TaxonomyResult:
    facets_created: int = 0
    facets_updated: int = 0
    tags_created: int = 0
    tags_updated: int = 0


@dataclass
class MergeResult:
    # Source decisions moved onto the target (no decision there before).
    moved: int = 0
    # Products that carried both tags: the more authoritative decision stayed.
    folded: int = 0
    events_moved: int = 0
    suggestions_moved: int = 0
    suggestions_dropped: int = 0


def _clean_name(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    name = clean_text(value)
    if not name:
        raise ValueError(f"{what} is empty")
    if ":" in name:
        raise ValueError(f"{what} {name!r} contains ':', which separates facet and value")
    if len(name) > limit:
        raise ValueError(f"{what} {name[:40]!r}… is over {limit} characters")
    return name


def _clean_aliases(values: Any, own_name: str) -> list[str]:
    if not isinstance(values, list):
        raise ValueError("aliases must be a list of names")
    aliases: list[str] = []
    seen = {own_name.casefold()}
    for value in values:
        if isinstance(value, str) and not clean_text(value):
            continue
        alias = _clean_name(value, "alias", MAX_TAG)
        if alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    return aliases


def _product_ids(tag: Tag) -> list[int]:
    return list(ProductTag.objects.filter(tag=tag).values_list("product_id", flat=True))


# -- import ----------------------------------------------------------------------------


def _load_document(source: str | Path | IO[bytes] | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    try:
        raw = Path(source).read_bytes() if isinstance(source, str | Path) else source.read()
        document = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError as exc:
        raise ValueError(f"the taxonomy file is not UTF-8 (byte offset {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the taxonomy file is not valid JSON: {exc.msg} (line {exc.lineno}, "
            f"column {exc.colno})"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("facets"), list):
        raise ValueError('the taxonomy file must be an object with a "facets" list')
    return document


_FACET_FIELDS = ("display_name_en", "display_name_zh", "description")


def _text_fields(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FACET_FIELDS:
        if name in spec:
            if not isinstance(spec[name], str):
                raise ValueError(f"{where}: {name} must be text")
            values[name] = clean_text(spec[name])
    return values


def _apply(obj: TagGroup | Tag, values: Mapping[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed


def import_taxonomy(source: str | Path | IO[bytes] | Mapping[str, Any]) -> TaxonomyResult:
    """Upsert facets and tags from a JSON document:
    {"facets": [{"name", "display_name_en", "display_name_zh", "multi_valued",
    "description", "tags": [{"name", "display_name_en", "display_name_zh",
    "aliases": [], "description"}]}]}.

    Facets and tags are matched by name, case-insensitively; only the keys
    present are written, so running the same file twice changes nothing.
    Raises ValueError (nothing written) when the document is malformed."""
    document = _load_document(source)
    result = TaxonomyResult()
    with transaction.atomic():
        groups = {g.name.casefold(): g for g in TagGroup.objects.all()}
        for f_index, facet_spec in enumerate(document["facets"], start=1):
            where = f"facet {f_index}"
            if not isinstance(facet_spec, dict):
                raise ValueError(f"{where} must be an object")
            name = _clean_name(facet_spec.get("name"), f"{where} name", MAX_FACET)
            where = f"facet {name!r}"
            values = _text_fields(facet_spec, where)
            for key in ("multi_valued",):
                if key in facet_spec:
                    if not isinstance(facet_spec[key], bool):
                        raise ValueError(f"{where}: {key} must be true or false")
                    values[key] = facet_spec[key]
            if "position" in facet_spec:
                if not isinstance(facet_spec["position"], int) or facet_spec["position"] < 0:
                    raise ValueError(f"{where}: position must be a whole number ≥ 0")
                values["position"] = facet_spec["position"]
            group = groups.get(name.casefold())
            if group is None:
                group = TagGroup.objects.create(name=name, **values)
                groups[name.casefold()] = group
                result.facets_created += 1
            else:
                changed = _apply(group, values)
                if changed:
                    group.save(update_fields=changed)
                    result.facets_updated += 1
            tag_specs = facet_spec.get("tags", [])
            if not isinstance(tag_specs, list):
                raise ValueError(f"{where}: tags must be a list")
            _import_tags(group, tag_specs, where, result)
    logger.info("taxonomy imported: %s", result)
    return result


def _import_tags(group: TagGroup, specs: list[Any], where: str, result: TaxonomyResult) -> None:
    tags = {t.name.casefold(): t for t in Tag.objects.filter(group=group)}
    for t_index, spec in enumerate(specs, start=1):
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{where}, tag {t_index} must be an object or a name")
        name = _clean_name(spec.get("name"), f"{where}, tag {t_index} name", MAX_TAG)
        tag_where = f"tag {group.name}:{name}"
        values = _text_fields(spec, tag_where)
        if "aliases" in spec:
            values["aliases"] = _clean_aliases(spec["aliases"], name)
        tag = tags.get(name.casefold())
        if tag is None:
            tags[name.casefold()] = Tag.objects.create(group=group, name=name, **values)
            result.tags_created += 1
        else:
            changed = _apply(tag, values)
            if changed:
                tag.save(update_fields=[*changed, "updated_at"])
                result.tags_updated += 1


# -- rename, aliases -------------------------------------------------------------------


def check_name(tag: Tag, new_name: str) -> str:
    """The cleaned name, or ValueError when it is empty, contains ':' or is
    another tag's name in the same facet (case-insensitively)."""
    name = _clean_name(new_name, "the name", MAX_TAG)
    other = Tag.objects.filter(group_id=tag.group_id, name__iexact=name).exclude(pk=tag.pk).first()
    if other is not None:
        raise ValueError(
            f"the facet already has a tag named {other.name!r}; merge the two tags instead"
        )
    return name


def check_aliases(tag: Tag, aliases: Iterable[str]) -> list[str]:
    """The cleaned aliases (de-duplicated, the tag's own name dropped), or
    ValueError when one is another tag's name or alias in the same facet:
    a name must lead to one tag."""
    cleaned = _clean_aliases(list(aliases), tag.name)
    owners: dict[str, Tag] = {}
    for other in Tag.objects.filter(group_id=tag.group_id).exclude(pk=tag.pk):
        for alias in [other.name, *other.aliases]:
            owners.setdefault(alias.casefold(), other)
    for alias in cleaned:
        owner = owners.get(alias.casefold())
        if owner is not None:
            raise ValueError(f"{alias!r} already leads to the tag {owner.name!r}")
    return cleaned


def rename_tag(tag: Tag, new_name: str, *, user: User | None) -> Tag:
    """Rename a tag in place: its decisions, events and suggestions stay on it.
    The old name becomes an alias, so files and API calls that still use it
    resolve to the tag. Raises ValueError (see check_name)."""
    with transaction.atomic():
        tag = Tag.objects.select_for_update().select_related("group").get(pk=tag.pk)
        name = check_name(tag, new_name)
        if name == tag.name:
            return tag
        old = tag.name
        aliases = [a for a in tag.aliases if a.casefold() != name.casefold()]
        if old.casefold() != name.casefold() and old.casefold() not in {
            a.casefold() for a in aliases
        }:
            aliases.append(old)
        tag.name = name
        tag.aliases = aliases
        tag.save(update_fields=["name", "aliases", "updated_at"])
        # The exported facet:value key changed for every product carrying it.
        touch_products(_product_ids(tag))
    logger.info("user %s renamed tag %s from %r to %r", user, tag.pk, old, name)
    return tag


def set_aliases(tag: Tag, aliases: Iterable[str], *, user: User | None = None) -> list[str]:
    """Replace a tag's aliases; raises ValueError (see check_aliases)."""
    with transaction.atomic():
        cleaned = check_aliases(tag, aliases)
        tag.aliases = cleaned
        tag.save(update_fields=["aliases", "updated_at"])
    logger.info("user %s set aliases of tag %s to %s", user, tag.pk, cleaned)
    return cleaned


# -- merge, deprecate ------------------------------------------------------------------


def _rank(pt: ProductTag) -> tuple[int, int]:
    return _SOURCE_RANK.get(pt.source, 0), _STATE_RANK.get(pt.state, 0)


def affected_products(tag: Tag) -> int:
    """How many products carry a decision about this tag (for confirmations)."""
    return ProductTag.objects.filter(tag=tag).count()


def merge_tags(source: Tag, into: Tag, *, user: User | None) -> MergeResult:
    """Fold `source` into `into` (same facet, `into` active).

    Every decision, event and suggestion of `source` moves to `into`. Where a
    product carries both, the more authoritative decision stays (human over
    import over auto, then approved over rejected). One ReviewEvent(merge) is
    written per source decision. `source` is deprecated with merged_into set,
    and its name and aliases become aliases of `into`. One transaction.
    Raises ValueError for a merge into itself, across facets, into a
    deprecated tag, or of a tag that was already merged."""
    if source.pk == into.pk:
        raise ValueError("a tag cannot be merged into itself")
    now = timezone.now()
    result = MergeResult()
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Tag.objects.select_for_update()
            .select_related("group")
            .filter(pk__in=[source.pk, into.pk])
        }
        source, into = locked[source.pk], locked[into.pk]
        if source.group_id != into.group_id:
            raise ValueError(
                f"{source.key} and {into.key} belong to different facets; "
                "merging across facets is not allowed"
            )
        if not into.is_active:
            raise ValueError(f"{into.key} is deprecated; merge into an active tag")
        if source.merged_into_id is not None:
            raise ValueError(f"{source.key} was already merged into another tag")
        note = f"merged {source.key} into {into.key}"

        # History first, so the merge events written below are the only new ones.
        result.events_moved = ReviewEvent.objects.filter(tag=source).update(tag=into)

        target_decisions = {pt.product_id: pt for pt in ProductTag.objects.filter(tag=into)}
        events: list[ReviewEvent] = []
        to_delete: list[int] = []
        for pt in ProductTag.objects.filter(tag=source):
            target = target_decisions.get(pt.product_id)
            if target is None:
                before = ""
                result.moved += 1
            else:
                before = target.state
                result.folded += 1
                to_delete.append(pt.pk)
                if _rank(pt) > _rank(target):
                    for name in ("state", "source", "decided_by_id", "decided_at"):
                        setattr(target, name, getattr(pt, name))
                    target.model_version_id = pt.model_version_id
                    target.score = pt.score
                    target.save(
                        update_fields=[
                            "state",
                            "source",
                            "decided_by",
                            "decided_at",
                            "model_version",
                            "score",
                            "updated_at",
                        ]
                    )
                pt = target
            events.append(
                ReviewEvent(
                    user=user,
                    product_id=pt.product_id,
                    tag=into,
                    action=ReviewEvent.Action.MERGE,
                    previous_state=before,
                    new_state=pt.state,
                    note=note,
                )
            )
        ProductTag.objects.filter(pk__in=to_delete).delete()
        ProductTag.objects.filter(tag=source).update(tag=into, updated_at=now)
        ReviewEvent.objects.bulk_create(events, batch_size=1000)

        _move_suggestions(source, into, result)

        Tag.objects.filter(merged_into=source).update(merged_into=into)
        source.status = Tag.Status.DEPRECATED
        source.merged_into = into
        source.save(update_fields=["status", "merged_into", "updated_at"])
        known = {into.name.casefold(), *(a.casefold() for a in into.aliases)}
        for alias in [source.name, *source.aliases]:
            if alias.casefold() not in known:
                known.add(alias.casefold())
                into.aliases.append(alias)
        into.save(update_fields=["aliases", "updated_at"])
        touch_products(e.product_id for e in events)
    logger.info("user %s %s: %s", user, note, result)
    return result


def _move_suggestions(source: Tag, into: Tag, result: MergeResult) -> None:
    """Per (product, model version) keep one suggestion: the higher score."""
    existing = {(s.product_id, s.model_version_id): s for s in Suggestion.objects.filter(tag=into)}
    drop: list[int] = []
    for suggestion in Suggestion.objects.filter(tag=source):
        kept = existing.get((suggestion.product_id, suggestion.model_version_id))
        if kept is None:
            continue
        drop.append(suggestion.pk)
        if suggestion.score > kept.score:
            kept.score = suggestion.score
            kept.selected = suggestion.selected
            kept.evidence = suggestion.evidence
            kept.save(update_fields=["score", "selected", "evidence"])
    result.suggestions_dropped = len(drop)
    Suggestion.objects.filter(pk__in=drop).delete()
    result.suggestions_moved = Suggestion.objects.filter(tag=source).update(tag=into)


def deprecate_tag(tag: Tag, *, user: User | None) -> int:
    """Retire a tag: it is no longer proposed, and its suggestions are
    withdrawn (the count is returned). Past decisions and their history stay
    as they were. Raises ValueError when it is already deprecated."""
    with transaction.atomic():
        tag = Tag.objects.select_for_update().select_related("group").get(pk=tag.pk)
        if not tag.is_active:
            raise ValueError(f"{tag.key} is already deprecated")
        tag.status = Tag.Status.DEPRECATED
        tag.save(update_fields=["status", "updated_at"])
        withdrawn, _ = Suggestion.objects.filter(tag=tag).delete()
        # What the export shows for these products changed.
        touch_products(_product_ids(tag))
    logger.info("user %s deprecated tag %s (%d suggestions withdrawn)", user, tag.key, withdrawn)
    return withdrawn
