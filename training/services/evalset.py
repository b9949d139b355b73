"""The frozen evaluation set: labeled products no model ever trains on, so the
metrics of every version are measured on the same ground.

It is drawn once, when there are enough labeled products, as a stratified ~15%
sample (every tag with two or more examples gets at least one evaluation product
where the budget allows). Afterwards it only grows, by rule: once the labeled
count has grown by 20% since the last draw, a stratified sample of the products
labeled since then is added so the share stays ~15%. Nothing is ever removed.
"""

import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Min

from annotation.models import Product, ProductTag, Tag
from training.services.datasets import TRUSTED_SOURCES

logger = logging.getLogger(__name__)

EVAL_SHARE = 0.15
GROWTH_TRIGGER = 0.20
# Below this many labeled products an evaluation set would say nothing; training
# still runs (its own validation split tunes thresholds) but reports no metrics.
MIN_LABELED = 10
SEED = 0


@dataclass(frozen=True)
class EvalSetChange:
    labeled: int  # labeled products in total, evaluation set included
    eval_size: int  # after the change
    added: int


def stratified_sample(
    label_sets: Mapping[int, Sequence[str]], size: int, seed: int = SEED
) -> set[int]:
    """Pick `size` ids so each label's share in the sample follows its share in
    the population (iterative stratification, Sechidis et al. 2011): labels are
    handled rarest first, and each of a label's items goes to whichever side
    (sample or rest) still wants that label most. A label with two or more items
    wants at least one in the sample, while the sample has room."""
    ids = sorted(label_sets)
    n = len(ids)
    size = max(0, min(size, n))
    if size == 0:
        return set()
    if size == n:
        return set(ids)
    rng = random.Random(seed)
    rng.shuffle(ids)
    share = size / n
    counts = Counter(label for i in ids for label in set(label_sets[i]))
    # want[side][label]: how many more items with this label the side should get.
    want_sample = {label: max(share * c, 1.0 if c >= 2 else 0.0) for label, c in counts.items()}
    want_rest = {label: c - want_sample[label] for label, c in counts.items()}
    room = {"sample": float(size), "rest": float(n - size)}
    chosen: set[int] = set()
    remaining = set(ids)
    by_label = _items_by_label(ids, label_sets)

    left = Counter(counts)  # labels' items not yet assigned

    def assign(item: int, side: str) -> None:
        remaining.discard(item)
        room[side] -= 1
        left.subtract(set(label_sets[item]))
        wants = want_sample if side == "sample" else want_rest
        for label in set(label_sets[item]):
            wants[label] -= 1
        if side == "sample":
            chosen.add(item)

    while remaining:
        pending = [lb for lb, c in left.items() if c > 0]
        if not pending:
            break
        # Rarest label first; ties broken by name so a seed reproduces the draw.
        label = min(pending, key=lambda lb: (left[lb], lb))
        for item in by_label[label]:
            if item not in remaining:
                continue
            assign(item, _side_for(label, room, want_sample, want_rest, size, n, rng))
    # Items without labels (none in practice: labeled products have one) fill the rest.
    for item in sorted(remaining):
        assign(item, "sample" if room["sample"] > 0 else "rest")
    return chosen


def _items_by_label(
    ids: Sequence[int], label_sets: Mapping[int, Sequence[str]]
) -> dict[str, list[int]]:
    """Each label's items, in the order of `ids`."""
    by_label: dict[str, list[int]] = {}
    for i in ids:
        for label in set(label_sets[i]):
            by_label.setdefault(label, []).append(i)
    return by_label


def _side_for(
    label: str,
    room: Mapping[str, float],
    want_sample: Mapping[str, float],
    want_rest: Mapping[str, float],
    size: int,
    n: int,
    rng: random.Random,
) -> str:
    """Where the next item of `label` goes: the only side with room left, else the
    side that wants the label more, else the side with more room left for its size,
    else either one at random."""
    if room["sample"] <= 0:
        return "rest"
    if room["rest"] <= 0:
        return "sample"
    if want_sample[label] != want_rest[label]:
        return "sample" if want_sample[label] > want_rest[label] else "rest"
    sample_room, rest_room = room["sample"] / size, room["rest"] / (n - size)
    if sample_room != rest_room:
        return "sample" if sample_room > rest_room else "rest"
    return rng.choice(("sample", "rest"))


def _labeled_products() -> dict[int, list[str]]:
    rows = ProductTag.objects.filter(
        state=ProductTag.State.APPROVED,
        source__in=TRUSTED_SOURCES,
        tag__status=Tag.Status.ACTIVE,
    ).values_list("product_id", "tag_id")
    labels: dict[int, list[str]] = {}
    for product_id, tag_id in rows:
        labels.setdefault(product_id, []).append(str(tag_id))
    return labels


def ensure_eval_set(seed: int = SEED) -> EvalSetChange:
    """Draw the evaluation set the first time it is needed, then grow it by rule.

    Call before building a training set. Safe to call repeatedly: it changes
    nothing until the rule says so."""
    with transaction.atomic():
        labels = _labeled_products()
        labeled = len(labels)
        eval_ids = set(Product.objects.filter(is_eval=True).values_list("id", flat=True))
        in_eval = eval_ids & set(labels)
        if not eval_ids:
            if labeled < MIN_LABELED:
                return EvalSetChange(labeled=labeled, eval_size=0, added=0)
            picked = stratified_sample(labels, max(1, round(EVAL_SHARE * labeled)), seed)
        else:
            # The labeled count at the last draw, as the set was sized for it.
            labeled_then = round(len(in_eval) / EVAL_SHARE)
            if labeled < labeled_then * (1 + GROWTH_TRIGGER):
                return EvalSetChange(labeled=labeled, eval_size=len(eval_ids), added=0)
            target = round(EVAL_SHARE * labeled) - len(in_eval)
            newest = _newest_labeled(labeled - labeled_then)
            picked = stratified_sample({i: labels[i] for i in newest}, target, seed + labeled)
        ordered = sorted(picked)
        for start in range(0, len(ordered), 500):
            Product.objects.filter(pk__in=ordered[start : start + 500]).update(is_eval=True)
    logger.info(
        "evaluation set: added %d products (%d labeled, %d in the set)",
        len(picked),
        labeled,
        len(eval_ids) + len(picked),
    )
    return EvalSetChange(labeled=labeled, eval_size=len(eval_ids) + len(picked), added=len(picked))


def _newest_labeled(count: int) -> list[int]:
    """The `count` most recently labeled products outside the evaluation set:
    the ones labeled since the last draw. Older products stay training data, as
    earlier versions already learned from them."""
    first_labeled = (
        ProductTag.objects.filter(
            product__is_eval=False,
            state=ProductTag.State.APPROVED,
            source__in=TRUSTED_SOURCES,
            tag__status=Tag.Status.ACTIVE,
        )
        .values("product_id")
        .annotate(first=Min("decided_at"))
        .order_by("-first", "-product_id")
        .values_list("product_id", flat=True)
    )
    return list(first_labeled[:count])
