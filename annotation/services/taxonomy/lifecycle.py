"""Tag lifecycle: check and change names and aliases, rename, merge and
deprecate tags. Each change runs in one transaction, keeps the review history
and marks the products whose export changed. Refusals raise TaxonomyError."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from annotation.errors import TaxonomyError
from annotation.models import ProductTag, ReviewEvent, Suggestion, Tag, TagMerge
from annotation.services.tag_changes import record_tag_changes
from annotation.services.taxonomy.merge_records import (
    chunks,
    decision_values,
    dropped_suggestion,
    suggestion_values,
)
from annotation.services.taxonomy.names import MAX_TAG, clean_aliases, clean_name

logger = logging.getLogger(__name__)

# Which decision survives when a merge finds both tags on one product.
_SOURCE_RANK: dict[str, int] = {
    ProductTag.Source.HUMAN: 3,
    ProductTag.Source.IMPORT: 2,
    ProductTag.Source.AUTO: 1,
}
_STATE_RANK: dict[str, int] = {ProductTag.State.APPROVED: 1, ProductTag.State.REJECTED: 0}


@dataclass
class MergeResult:
    # Source decisions moved onto the target (no decision there before).
    moved: int = 0
    # Products that carried both tags: the more authoritative decision stayed.
    folded: int = 0
    events_moved: int = 0
    suggestions_moved: int = 0
    suggestions_dropped: int = 0


def _product_ids(tag: Tag) -> list[int]:
    return list(ProductTag.objects.filter(tag=tag).values_list("product_id", flat=True))


# -- rename, aliases -------------------------------------------------------------------


def check_name(tag: Tag, new_name: str) -> str:
    """The cleaned name, or TaxonomyError when it is empty, contains ':' or is
    another tag's name in the same facet (case-insensitively)."""
    name = clean_name(new_name, "the name", MAX_TAG)
    other = Tag.objects.filter(group_id=tag.group_id, name__iexact=name).exclude(pk=tag.pk).first()
    if other is not None:
        raise TaxonomyError(
            gettext_noop("the facet already has a tag named %(name)s; merge the two tags instead"),
            {"name": repr(other.name)},
        )
    return name


def check_aliases(tag: Tag, aliases: Iterable[str]) -> list[str]:
    """The cleaned aliases (de-duplicated, the tag's own name dropped), or
    TaxonomyError when one is another tag's name or alias in the same facet:
    a name must lead to one tag."""
    cleaned = clean_aliases(list(aliases), tag.name)
    owners: dict[str, Tag] = {}
    for other in Tag.objects.filter(group_id=tag.group_id).exclude(pk=tag.pk):
        for alias in [other.name, *other.aliases]:
            owners.setdefault(alias.casefold(), other)
    for alias in cleaned:
        owner = owners.get(alias.casefold())
        if owner is not None:
            raise TaxonomyError(
                gettext_noop("%(alias)s already leads to the tag %(tag)s"),
                {"alias": repr(alias), "tag": repr(owner.name)},
            )
    return cleaned


def rename_tag(
    tag: Tag, new_name: str, *, user: User | None, display_name_en: str | None = None
) -> Tag:
    """Rename a tag in place: its decisions, events and suggestions stay on it.
    The old name becomes an alias, so files and API calls that still use it
    resolve to the tag. The English display name, when set, becomes the new
    name too, so every page shows it (the Chinese one is a translation and
    stays), unless `display_name_en` gives another one in the same change.
    Raises TaxonomyError (see check_name)."""
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
        if display_name_en is not None:
            tag.display_name_en = display_name_en.strip()
        elif tag.display_name_en:
            tag.display_name_en = name
        tag.save(update_fields=["name", "aliases", "display_name_en", "updated_at"])
        # The exported facet:value key changed for every product carrying it.
        record_tag_changes(_product_ids(tag))
    logger.info("user %s renamed tag %s from %r to %r", user, tag.pk, old, name)
    return tag


def set_aliases(tag: Tag, aliases: Iterable[str], *, user: User | None = None) -> list[str]:
    """Replace a tag's aliases; raises TaxonomyError (see check_aliases)."""
    with transaction.atomic():
        cleaned = check_aliases(tag, aliases)
        tag.aliases = cleaned
        tag.save(update_fields=["aliases", "updated_at"])
    logger.info("user %s set aliases of tag %s to %s", user, tag.pk, cleaned)
    return cleaned


# -- merge, deprecate ------------------------------------------------------------------


def rank_decision(pt: ProductTag) -> tuple[int, int]:
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
    and its name and aliases become aliases of `into`. A TagMerge row records
    exactly what moved, so `unmerge_tag` can move it back. One transaction.
    Raises TaxonomyError for a merge into itself, across facets, into a
    deprecated tag, or of a tag that was already merged."""
    if source.pk == into.pk:
        raise TaxonomyError(gettext_noop("a tag cannot be merged into itself"))
    result = MergeResult()
    with transaction.atomic():
        source, into = _lock_pair(source, into)
        check_merge(source, into)
        note = f"merged {source.key} into {into.key}"
        record = TagMerge(source=source, into=into, user=user, source_status=source.status)

        # History first, so the merge events written below are the only new ones.
        record.moved_events = list(
            ReviewEvent.objects.filter(tag=source).order_by("pk").values_list("pk", flat=True)
        )
        for ids in chunks(record.moved_events):
            result.events_moved += ReviewEvent.objects.filter(pk__in=ids).update(tag=into)

        events = _move_decisions(source, into, record, result, user=user, note=note)
        _move_suggestions(source, into, result, record)

        record.redirected_tags = list(
            Tag.objects.filter(merged_into=source).values_list("pk", flat=True)
        )
        Tag.objects.filter(pk__in=record.redirected_tags).update(merged_into=into)
        source.status = Tag.Status.DEPRECATED
        source.merged_into = into
        source.save(update_fields=["status", "merged_into", "updated_at"])
        record.added_aliases = _adopt_names(source, into)
        record.save()
        record_tag_changes(e.product_id for e in events)
    logger.info("user %s %s: %s", user, note, result)
    return result


def _lock_pair(source: Tag, into: Tag) -> tuple[Tag, Tag]:
    locked = {
        t.pk: t
        for t in Tag.objects.select_for_update()
        .select_related("group")
        .filter(pk__in=[source.pk, into.pk])
    }
    return locked[source.pk], locked[into.pk]


def check_merge(source: Tag, into: Tag) -> None:
    """TaxonomyError when `source` may not be merged into `into`."""
    if source.pk == into.pk:
        raise TaxonomyError(gettext_noop("a tag cannot be merged into itself"))
    if source.group_id != into.group_id:
        raise TaxonomyError(
            gettext_noop(
                "%(source)s and %(target)s belong to different facets; "
                "merging across facets is not allowed"
            ),
            {"source": source.key, "target": into.key},
        )
    if not into.is_active:
        raise TaxonomyError(
            gettext_noop("%(tag)s is deprecated; merge into an active tag"), {"tag": into.key}
        )
    if source.merged_into_id is not None:
        raise TaxonomyError(
            gettext_noop("%(tag)s was already merged into another tag"), {"tag": source.key}
        )


def _move_decisions(
    source: Tag,
    into: Tag,
    record: TagMerge,
    result: MergeResult,
    *,
    user: User | None,
    note: str,
) -> list[ReviewEvent]:
    """Move or fold the source's decisions onto `into`, noting in `record`
    which rows moved and, for folded products, both decisions as they were.
    Returns the merge events written (one per source decision)."""
    now = timezone.now()
    target_decisions = {pt.product_id: pt for pt in ProductTag.objects.filter(tag=into)}
    events: list[ReviewEvent] = []
    to_delete: list[int] = []
    for pt in ProductTag.objects.filter(tag=source).order_by("pk"):
        target = target_decisions.get(pt.product_id)
        if target is None:
            before = ""
            result.moved += 1
            record.moved_decisions.append(pt.pk)
        else:
            before = target.state
            result.folded += 1
            to_delete.append(pt.pk)
            folded = {
                "product": pt.product_id,
                "source": decision_values(pt),
                "target_before": None,
            }
            if rank_decision(pt) > rank_decision(target):
                folded["target_before"] = decision_values(target)
                target.copy_decision(pt)
                target.save(update_fields=[*ProductTag.DECISION_FIELDS, "updated_at"])
            record.folded_decisions.append(folded)
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
    for ids in chunks(to_delete):
        ProductTag.objects.filter(pk__in=ids).delete()
    for ids in chunks(record.moved_decisions):
        ProductTag.objects.filter(pk__in=ids).update(tag=into, updated_at=now)
    ReviewEvent.objects.bulk_create(events, batch_size=1000)
    return events


def _adopt_names(source: Tag, into: Tag) -> list[str]:
    """Add the source's name and aliases to `into`'s aliases; returns the ones added."""
    added: list[str] = []
    known = {into.name.casefold(), *(a.casefold() for a in into.aliases)}
    for alias in [source.name, *source.aliases]:
        if alias.casefold() not in known:
            known.add(alias.casefold())
            added.append(alias)
    into.aliases = [*into.aliases, *added]
    into.save(update_fields=["aliases", "updated_at"])
    return added


def _move_suggestions(source: Tag, into: Tag, result: MergeResult, record: TagMerge) -> None:
    """Per (product, model version) keep one suggestion: the higher score."""
    existing = {(s.product_id, s.model_version_id): s for s in Suggestion.objects.filter(tag=into)}
    drop: list[int] = []
    for suggestion in Suggestion.objects.filter(tag=source).order_by("pk"):
        kept = existing.get((suggestion.product_id, suggestion.model_version_id))
        if kept is None:
            record.moved_suggestions.append(suggestion.pk)
            continue
        drop.append(suggestion.pk)
        record.dropped_suggestions.append(dropped_suggestion(suggestion))
        if suggestion.score > kept.score:
            before = suggestion_values(kept)
            kept.score = suggestion.score
            kept.selected = suggestion.selected
            kept.evidence = suggestion.evidence
            kept.save(update_fields=["score", "selected", "evidence"])
            record.replaced_suggestions.append(
                {"id": kept.pk, "before": before, "after": suggestion_values(kept)}
            )
    result.suggestions_dropped = len(drop)
    for ids in chunks(drop):
        Suggestion.objects.filter(pk__in=ids).delete()
    for ids in chunks(record.moved_suggestions):
        result.suggestions_moved += Suggestion.objects.filter(pk__in=ids).update(tag=into)


def deprecate_tag(tag: Tag, *, user: User | None) -> int:
    """Retire a tag: it is no longer proposed, and its suggestions are
    withdrawn (the count is returned). Past decisions and their history stay
    as they were. Raises TaxonomyError when it is already deprecated."""
    with transaction.atomic():
        tag = Tag.objects.select_for_update().select_related("group").get(pk=tag.pk)
        if not tag.is_active:
            raise TaxonomyError(gettext_noop("%(tag)s is already deprecated"), {"tag": tag.key})
        tag.status = Tag.Status.DEPRECATED
        tag.save(update_fields=["status", "updated_at"])
        withdrawn, _ = Suggestion.objects.filter(tag=tag).delete()
        # What the export shows for these products changed.
        record_tag_changes(_product_ids(tag))
    logger.info("user %s deprecated tag %s (%d suggestions withdrawn)", user, tag.key, withdrawn)
    return withdrawn
