"""Category-aware proposals on the training side: the schema learned with each
model version, and the mask scoring puts on its predictions.

The schema is learned at the facet level (which facets occur within each
category), from categories with at least `MIN_SUPPORT` labelled products:
`bench/review_effort.py` measured the facet level never hurting and helping
Flipkart, where the tag level hurt Myntra's macro-F1 (docs/architecture.md).
Which facet names the category, and the admins' overrides, live in
`annotation.services.taxonomy.categories`."""

from collections import Counter
from collections.abc import Iterable, Sequence

from annotation.models import ProductTag
from annotation.services.taxonomy.categories import category_facet
from training.ml.category_schema import MIN_SUPPORT, CategorySchema
from training.ml.types import TagPrediction, TagSpec

LEVEL = "facet"


def learn_schema(labels: Sequence[Sequence[str]]) -> dict:
    """The schema of these approved tag keys (one list per training product), as
    stored on `ModelVersion.category_schema`; {} without a category facet."""
    facet = category_facet()
    if facet is None:
        return {}
    schema = CategorySchema.learn(labels, facet.name, LEVEL, MIN_SUPPORT)
    support = Counter(
        key for tags in labels for key in set(tags) if TagSpec.from_key(key).facet == facet.name
    )
    return {
        **schema.to_json(),
        "min_support": MIN_SUPPORT,
        "support": {key: support[key] for key in sorted(schema.allowed)},
    }


def approved_categories(schema: CategorySchema, product_ids: Iterable[int]) -> dict[int, str]:
    """Each product's approved category tag key (the first by name when several)."""
    rows = (
        ProductTag.objects.filter(
            product_id__in=list(product_ids),
            state=ProductTag.State.APPROVED,
            tag__group__name=schema.facet,
        )
        .select_related("tag__group")
        .order_by("-tag__name")
    )
    return {row.product_id: row.tag.key for row in rows}


def mask(
    schema: CategorySchema, predictions: list[TagPrediction], approved: str | None
) -> list[TagPrediction]:
    """The predictions a product's category allows: its approved category, else
    the one the model is sure of; every prediction when neither is known."""
    category = schema.category_for(
        [approved] if approved else [], [(p.tag, p.score) for p in predictions]
    )
    return [p for p in predictions if schema.allows(category, TagSpec.from_key(p.tag))]
