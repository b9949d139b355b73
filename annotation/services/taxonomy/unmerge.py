"""Undo a tag merge, and say beforehand what a merge or an unmerge will move.

An unmerge restores the merged tag (its status before the merge, no
merged_into) and moves back exactly what the merge moved, as its TagMerge
record lists it: the decisions that moved, the decisions folded into the
target's (the merged tag's one is created again, and the target's own comes
back where the merge had replaced it and nobody decided since), the history,
the suggestions, the earlier merges that were re-pointed, and the aliases the
target took over. One ReviewEvent(unmerge) is written per decision restored.

Merges made before TagMerge existed have no record. For them the audit trail
is all there is: the merge events name each product whose decision moved, so
those decisions move back; decisions that were folded into an existing one,
the moved history and the suggestions cannot be told apart from the target's
own and stay where they are (the result says how many).
"""

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from annotation.errors import TaxonomyError
from annotation.models import Product, ProductTag, ReviewEvent, Suggestion, Tag, TagMerge
from annotation.services.active_model import ModelVersion
from annotation.services.tag_changes import record_tag_changes
from annotation.services.taxonomy.lifecycle import check_merge, rank_decision
from annotation.services.taxonomy.merge_records import (
    apply_decision,
    chunks,
    same_decision,
)

logger = logging.getLogger(__name__)


@dataclass
class MergePreview:
    """What merging `source` into `into` would do (for the confirmation page)."""

    source: Tag
    into: Tag
    moved: int  # decisions that move (no decision on the target there)
    folded: int  # products that carry both tags
    replaced: int  # of those, where the source's decision wins
    events: int
    suggestions: int
    aliases: list[str]


@dataclass
class UnmergeResult:
    tag: Tag
    into: Tag
    complete: bool  # False: a merge made before merges were recorded
    moved_back: int = 0  # decisions moved back to the tag
    recreated: int = 0  # the tag's decisions folded by the merge, created again
    restored: int = 0  # the target's decisions the merge had replaced, back
    kept: int = 0  # decisions changed since the merge, left as they are now
    not_restorable: int = 0  # folded decisions of an unrecorded merge
    events_moved: int = 0
    suggestions_restored: int = 0


def merge_preview(source: Tag, into: Tag) -> MergePreview:
    """Counts of what merge_tags(source, into) would move; TaxonomyError when
    the merge is not allowed."""
    check_merge(source, into)
    targets = {pt.product_id: pt for pt in ProductTag.objects.filter(tag=into)}
    moved = folded = replaced = 0
    for pt in ProductTag.objects.filter(tag=source):
        target = targets.get(pt.product_id)
        if target is None:
            moved += 1
        else:
            folded += 1
            replaced += rank_decision(pt) > rank_decision(target)
    known = {into.name.casefold(), *(a.casefold() for a in into.aliases)}
    aliases: list[str] = []
    for alias in [source.name, *source.aliases]:
        if alias.casefold() not in known:
            known.add(alias.casefold())
            aliases.append(alias)
    return MergePreview(
        source=source,
        into=into,
        moved=moved,
        folded=folded,
        replaced=replaced,
        events=ReviewEvent.objects.filter(tag=source).count(),
        suggestions=Suggestion.objects.filter(tag=source).count(),
        aliases=aliases,
    )


def last_merge(tag: Tag) -> TagMerge | None:
    """The record of the merge that deprecated `tag`, if it was recorded."""
    return TagMerge.objects.filter(source=tag, undone_at__isnull=True).first()


def _check_unmerge(tag: Tag, record: TagMerge | None) -> Tag:
    """The tag `tag` was merged into; TaxonomyError when it cannot be unmerged now."""
    if tag.merged_into_id is None:
        raise TaxonomyError(
            gettext_noop("%(tag)s is not merged into another tag"), {"tag": tag.key}
        )
    into_id = record.into_id if record is not None else tag.merged_into_id
    into = Tag.objects.select_related("group", "merged_into__group").get(pk=into_id)
    if into.merged_into is not None:
        raise TaxonomyError(
            gettext_noop("%(tag)s was merged into %(target)s since; unmerge that first"),
            {"tag": into.key, "target": into.merged_into.key},
        )
    return into


def unmerge_tag(tag: Tag, *, user: User | None) -> UnmergeResult:
    """Undo the merge of `tag` (see the module docstring). One transaction.
    Raises TaxonomyError when the tag is not merged, or when the tag it was
    merged into was merged further since (undo that merge first)."""
    with transaction.atomic():
        tag = Tag.objects.select_for_update().select_related("group").get(pk=tag.pk)
        record = (
            TagMerge.objects.select_for_update().filter(source=tag, undone_at__isnull=True).first()
        )
        into = _check_unmerge(tag, record)
        into = Tag.objects.select_for_update().select_related("group").get(pk=into.pk)
        result = UnmergeResult(tag=tag, into=into, complete=record is not None)
        note = f"unmerged {tag.key} from {into.key}"
        events: list[ReviewEvent] = []
        if record is not None:
            _restore_recorded(record, tag, into, result, events)
        else:
            _restore_from_audit_trail(tag, into, result, events)
        for event in events:
            event.user = user
            event.note = note
        ReviewEvent.objects.bulk_create(events, batch_size=1000)
        _restore_tag(tag, into, record)
        if record is not None:
            record.undone_at = timezone.now()
            record.undone_by = user
            record.save(update_fields=["undone_at", "undone_by"])
        record_tag_changes(e.product_id for e in events)
    logger.info("user %s %s: %s", user, note, result)
    return result


def _event(product_id: int, tag: Tag, before: str, after: str) -> ReviewEvent:
    return ReviewEvent(
        product_id=product_id,
        tag=tag,
        action=ReviewEvent.Action.UNMERGE,
        previous_state=before,
        new_state=after,
    )


def _restore_recorded(
    record: TagMerge, tag: Tag, into: Tag, result: UnmergeResult, events: list[ReviewEvent]
) -> None:
    # History first, so that the unmerge events are the only new ones on `tag`.
    for ids in chunks(record.moved_events):
        result.events_moved += ReviewEvent.objects.filter(pk__in=ids, tag=into).update(tag=tag)
    taken = set(ProductTag.objects.filter(tag=tag).values_list("product_id", flat=True))
    now = timezone.now()
    for ids in chunks(record.moved_decisions):
        rows = ProductTag.objects.filter(pk__in=ids, tag=into).exclude(product_id__in=taken)
        moved = list(rows.values_list("pk", "product_id", "state"))
        ProductTag.objects.filter(pk__in=[pk for pk, _, _ in moved]).update(tag=tag, updated_at=now)
        result.moved_back += len(moved)
        events.extend(_event(product_id, tag, "", state) for _, product_id, state in moved)
    _restore_folded(record, tag, into, taken, result, events)
    _restore_suggestions(record, tag, into, result)


def _restore_folded(
    record: TagMerge,
    tag: Tag,
    into: Tag,
    taken: set[int],
    result: UnmergeResult,
    events: list[ReviewEvent],
) -> None:
    """Create the tag's folded decisions again, and give the target back its
    own decision where the merge replaced it and nobody decided since."""
    folded = record.folded_decisions
    products = set(
        Product.objects.filter(pk__in=[f["product"] for f in folded]).values_list("pk", flat=True)
    )
    targets = {
        pt.product_id: pt for pt in ProductTag.objects.filter(tag=into, product_id__in=products)
    }
    created: list[ProductTag] = []
    replaced: list[ProductTag] = []
    for item in folded:
        product_id = item["product"]
        if product_id not in products or product_id in taken:
            continue
        row = ProductTag(product_id=product_id, tag=tag)
        apply_decision(row, item["source"])
        created.append(row)
        events.append(_event(product_id, tag, "", row.state))
        target = targets.get(product_id)
        if item["target_before"] is None or target is None:
            continue
        if not same_decision(target, item["source"]):
            result.kept += 1
            continue
        before = target.state
        apply_decision(target, item["target_before"])
        replaced.append(target)
        events.append(_event(product_id, into, before, target.state))
    _drop_missing_references([*created, *replaced])
    ProductTag.objects.bulk_create(created, batch_size=500)
    for target in replaced:
        target.save(update_fields=[*ProductTag.DECISION_FIELDS, "updated_at"])
    result.recreated = len(created)
    result.restored = len(replaced)


def _drop_missing_references(rows: list[ProductTag]) -> None:
    """A user or model version deleted since the merge is left empty."""
    users = set(
        get_user_model()
        .objects.filter(pk__in={r.decided_by_id for r in rows if r.decided_by_id})
        .values_list("pk", flat=True)
    )
    versions = set(
        ModelVersion.objects.filter(
            pk__in={r.model_version_id for r in rows if r.model_version_id}
        ).values_list("pk", flat=True)
    )
    for row in rows:
        if row.decided_by_id not in users:
            row.decided_by_id = None
        if row.model_version_id not in versions:
            row.model_version_id = None


def _restore_suggestions(record: TagMerge, tag: Tag, into: Tag, result: UnmergeResult) -> None:
    for ids in chunks(record.moved_suggestions):
        result.suggestions_restored += Suggestion.objects.filter(pk__in=ids, tag=into).update(
            tag=tag
        )
    for item in record.replaced_suggestions:
        kept = Suggestion.objects.filter(pk=item["id"], tag=into).first()
        after = item["after"]
        if kept is not None and (kept.score, kept.selected) == (after["score"], after["selected"]):
            kept.score = item["before"]["score"]
            kept.selected = item["before"]["selected"]
            kept.evidence = item["before"]["evidence"]
            kept.save(update_fields=["score", "selected", "evidence"])
    dropped = record.dropped_suggestions
    versions = set(
        ModelVersion.objects.filter(pk__in={d["model_version"] for d in dropped}).values_list(
            "pk", flat=True
        )
    )
    products = set(
        Product.objects.filter(pk__in={d["product"] for d in dropped}).values_list("pk", flat=True)
    )
    present = set(Suggestion.objects.filter(tag=tag).values_list("product_id", "model_version_id"))
    again = [
        Suggestion(
            product_id=d["product"],
            tag=tag,
            model_version_id=d["model_version"],
            score=d["score"],
            selected=d["selected"],
            evidence=d["evidence"],
        )
        for d in dropped
        if d["model_version"] in versions
        and d["product"] in products
        and (d["product"], d["model_version"]) not in present
    ]
    Suggestion.objects.bulk_create(again, batch_size=500)
    result.suggestions_restored += len(again)


def _restore_from_audit_trail(
    tag: Tag, into: Tag, result: UnmergeResult, events: list[ReviewEvent]
) -> None:
    """An unrecorded merge: move back the decisions its merge events say moved
    onto a product with no decision about the target."""
    merges = ReviewEvent.objects.filter(
        tag=into, action=ReviewEvent.Action.MERGE, note=f"merged {tag.key} into {into.key}"
    )
    moved_products = set(merges.filter(previous_state="").values_list("product_id", flat=True))
    result.not_restorable = merges.exclude(previous_state="").count()
    taken = set(ProductTag.objects.filter(tag=tag).values_list("product_id", flat=True))
    now = timezone.now()
    ids = sorted(moved_products - taken)
    for part in chunks(ids):
        rows = list(
            ProductTag.objects.filter(tag=into, product_id__in=part).values_list(
                "pk", "product_id", "state"
            )
        )
        ProductTag.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(tag=tag, updated_at=now)
        result.moved_back += len(rows)
        events.extend(_event(product_id, tag, "", state) for _, product_id, state in rows)


def _restore_tag(tag: Tag, into: Tag, record: TagMerge | None) -> None:
    """The tag's status and earlier merges as before; its names leave the
    target's aliases."""
    if record is not None:
        Tag.objects.filter(pk__in=record.redirected_tags, merged_into=into).update(merged_into=tag)
        names = {a.casefold() for a in record.added_aliases}
        status = record.source_status or Tag.Status.ACTIVE
    else:
        names = {a.casefold() for a in [tag.name, *tag.aliases]}
        status = Tag.Status.ACTIVE
    tag.status = status
    tag.merged_into = None
    tag.save(update_fields=["status", "merged_into", "updated_at"])
    into.aliases = [a for a in into.aliases if a.casefold() not in names]
    into.save(update_fields=["aliases", "updated_at"])
