"""Category schemas learned from approved tags, and their mask on scores."""

import numpy as np
import pytest

from training.ml.category_schema import CategorySchema
from training.ml.types import TagSpec

LABELS = [
    ["category:Shoes", "color:Red", "closure:Laces"],
    ["category:Shoes", "color:Blue", "closure:Velcro"],
    ["category:Shirts", "color:Red", "sleeve:Long"],
    ["category:Shirts", "color:White", "sleeve:Short"],
]
TAGS = [
    TagSpec.from_key(k)
    for k in [
        "category:Shoes",
        "category:Shirts",
        "color:Red",
        "color:White",
        "closure:Laces",
        "sleeve:Long",
    ]
]


def test_a_tag_schema_keeps_the_tags_seen_with_the_category() -> None:
    schema = CategorySchema.learn(LABELS, "category", "tag", min_support=2)
    # A sure shoe, then a sure shirt.
    proba = np.array(
        [
            [0.9, 0.1, 0.8, 0.6, 0.7, 0.6],
            [0.2, 0.7, 0.8, 0.6, 0.7, 0.6],
        ]
    )

    keep = schema.mask(proba, TAGS)

    # No white shoe nor sleeves on shoes were seen; no closure on shirts.
    assert keep[0].tolist() == [True, True, True, False, True, False]
    assert keep[1].tolist() == [True, True, True, True, False, True]


def test_a_facet_schema_keeps_whole_facets() -> None:
    schema = CategorySchema.learn(LABELS, "category", "facet", min_support=2)
    proba = np.array([[0.9, 0.1, 0.8, 0.6, 0.7, 0.6]])

    keep = schema.mask(proba, TAGS)

    # White is a colour, and colours occur on shoes: only sleeves go.
    assert keep[0].tolist() == [True, True, True, True, True, False]


def test_an_unsure_or_thin_category_masks_nothing() -> None:
    proba = np.array([[0.4, 0.3, 0.8, 0.6, 0.7, 0.6]])

    unsure = CategorySchema.learn(LABELS, "category", "tag", min_support=2).mask(proba, TAGS)
    sure = np.array([[0.9, 0.1, 0.8, 0.6, 0.7, 0.6]])
    thin = CategorySchema.learn(LABELS, "category", "tag", min_support=3).mask(sure, TAGS)

    assert unsure.all()
    assert thin.all()


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        CategorySchema.learn(LABELS, "category", "brand")


def test_allows_per_product_agrees_with_the_mask() -> None:
    schema = CategorySchema.learn(LABELS, "category", "facet", min_support=2)
    proba = np.array([[0.9, 0.1, 0.8, 0.6, 0.7, 0.6], [0.3, 0.2, 0.8, 0.6, 0.7, 0.6]])

    keep = schema.mask(proba, TAGS)

    for i, row in enumerate(proba):
        category = schema.category_of([(t.key, float(s)) for t, s in zip(TAGS, row, strict=True)])
        assert [schema.allows(category, t) for t in TAGS] == keep[i].tolist()
    assert schema.category_of([("category:Shoes", 0.49), ("color:Red", 0.9)]) is None
    assert schema.allows("category:Unknown", TagSpec.from_key("sleeve:Long"))


def test_a_schema_survives_its_json_form() -> None:
    schema = CategorySchema.learn(LABELS, "category", "facet", min_support=2)

    assert CategorySchema.from_json(schema.to_json()) == schema
    assert CategorySchema.from_json({}) is None
    assert CategorySchema.from_json({"facet": "category", "level": "leaf", "allowed": {}}) is None


def test_the_category_is_the_approved_one_first_by_key_else_the_sure_score() -> None:
    schema = CategorySchema("category", "facet", {"category:Bags": frozenset({"color"})})
    scores = [("category:Shoes", 0.9), ("color:Red", 0.8)]

    assert schema.category_for(["category:Shoes", "category:Bags", "color:Red"], scores) == (
        "category:Bags"
    )
    assert schema.category_for(["color:Red"], scores) == "category:Shoes"
    assert schema.category_for([], [("category:Shoes", 0.4)]) is None
