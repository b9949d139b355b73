"""What the model learns from: the taxonomy as TagSpecs and the labeled products."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from annotation.models import Product, ProductTag, Tag
from training.ml.types import TagSpec

# Decisions a person made (in review, or by importing a tagged file). Tags the
# model applied on its own are not ground truth and never feed training back.
TRUSTED_SOURCES = (ProductTag.Source.HUMAN, ProductTag.Source.IMPORT)


@dataclass
class LabeledSet:
    """Parallel lists: one entry per labeled product."""

    product_ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[list[str]] = field(default_factory=list)
    # Tags a person explicitly rejected, per product (the model treats every
    # absent tag as a negative; these are the ones known for sure).
    rejected: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.product_ids)


def tag_specs(tags: Iterable[Tag] | None = None) -> list[TagSpec]:
    """The active taxonomy, ordered by key, as the ML core sees it."""
    if tags is None:
        tags = Tag.objects.filter(status=Tag.Status.ACTIVE).select_related("group")
    specs = []
    for tag in tags:
        aliases = tuple(form for form in tag.written_forms() if form != tag.name)
        specs.append(
            TagSpec(
                key=tag.key,
                facet=tag.group.name,
                name=tag.name,
                aliases=aliases,
                single_valued=not tag.group.multi_valued,
            )
        )
    specs.sort(key=lambda s: s.key)
    return specs


def labeled_product_ids(include_eval: bool = True) -> list[int]:
    """Products with at least one approved tag decided by a person or an import."""
    rows = ProductTag.objects.filter(
        state=ProductTag.State.APPROVED,
        source__in=TRUSTED_SOURCES,
        tag__status=Tag.Status.ACTIVE,
    )
    if not include_eval:
        rows = rows.filter(product__is_eval=False)
    return sorted(set(rows.values_list("product_id", flat=True)))


def catalogue_texts(limit: int = 2000) -> list[str]:
    """What the model reads of the catalogue's first `limit` products (by id): enough
    for encoder.default_base_model to tell its language."""
    products = Product.objects.order_by("pk").only("normalized_text", "title", "description")
    return [product.model_text for product in products[:limit]]


def labeled_examples(exclude_eval: bool = True, eval_only: bool = False) -> LabeledSet:
    """Texts and approved tag keys of every labeled product.

    exclude_eval (the default) leaves out the frozen evaluation set: training
    must never see it. eval_only returns just that set."""
    rows = ProductTag.objects.filter(
        source__in=TRUSTED_SOURCES, tag__status=Tag.Status.ACTIVE
    ).select_related("tag__group")
    if eval_only:
        rows = rows.filter(product__is_eval=True)
    elif exclude_eval:
        rows = rows.filter(product__is_eval=False)
    approved: dict[int, list[str]] = defaultdict(list)
    rejected: dict[int, list[str]] = defaultdict(list)
    for pt in rows.only("product_id", "state", "tag__name", "tag__group__name"):
        target = approved if pt.state == ProductTag.State.APPROVED else rejected
        target[pt.product_id].append(pt.tag.key)

    result = LabeledSet()
    ids = sorted(approved)
    products = Product.objects.in_bulk(ids)
    for pid in ids:
        product = products.get(pid)
        if product is None:
            continue
        result.product_ids.append(pid)
        result.texts.append(product.model_text)
        result.labels.append(sorted(approved[pid]))
        result.rejected.append(sorted(rejected.get(pid, [])))
    return result


def fingerprint(data: LabeledSet) -> str:
    """A stable hash of what a model was trained on (ids, texts and labels), so
    two versions trained on the same data can be recognised."""
    digest = hashlib.sha256()
    order = sorted(range(len(data)), key=lambda i: data.product_ids[i])
    for i in order:
        digest.update(str(data.product_ids[i]).encode())
        digest.update(b"\x1f")
        digest.update(data.texts[i].encode())
        digest.update(b"\x1f")
        digest.update("\x1e".join(data.labels[i]).encode())
        digest.update(b"\x1d")
    return digest.hexdigest()
