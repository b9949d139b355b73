"""Category-aware proposals: the facet-level schema learned at training, stored
with the version, and the mask it (with the admins' overrides) puts on scoring."""

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from annotation.models import CategoryFacet, ProductTag, Suggestion, Tag
from annotation.services.taxonomy import categories
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    TagFactory,
    TagGroupFactory,
)
from tests.training.conftest import MakeCatalogue
from training.ml.types import TagPrediction
from training.models import ModelVersion, TrainingRun
from training.services import runs, scoring

Capture = Callable[..., object]


@pytest.fixture
def category_tags(taxonomy: dict[str, Tag]) -> dict[str, Tag]:
    group = TagGroupFactory(name="category", multi_valued=False, position=2)
    return {name: TagFactory(group=group, name=name) for name in ("clothes", "bags")}


@pytest.mark.django_db
def test_training_learns_which_facets_each_category_has_and_stores_it(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    category_tags: dict[str, Tag],
    admin_user: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    products = make_catalogue(40)
    for i, product in enumerate(products):
        name = "clothes" if i % 2 else "bags"
        ProductTagFactory(product=product, tag=category_tags[name])
        if name == "bags":  # bags carry no material
            ProductTag.objects.filter(product=product, tag__group__name="material").delete()

    with django_capture_on_commit_callbacks(execute=True):
        run = runs.trigger_training(admin_user, "head")
    run.refresh_from_db()

    assert run.status == TrainingRun.Status.SUCCEEDED
    schema = run.model_version.category_schema
    assert schema["facet"] == "category"
    assert schema["level"] == "facet"
    assert schema["min_support"] == 5
    assert schema["allowed"] == {
        "category:bags": ["category", "colour"],
        "category:clothes": ["category", "colour", "material"],
    }
    # The evaluation set is never trained on, so fewer than the 20 of each.
    assert 5 <= schema["support"]["category:bags"] <= 20


@pytest.mark.django_db
def test_without_a_category_facet_nothing_is_learned(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    admin_user: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    make_catalogue(20)

    with django_capture_on_commit_callbacks(execute=True):
        run = runs.trigger_training(admin_user, "head")
    run.refresh_from_db()

    assert run.model_version.category_schema == {}


class FakeModel:
    """Fixed predictions per product text, best first, as TaggerModel.predict gives."""

    def __init__(self, scores: dict[str, list[tuple[str, float, bool]]]) -> None:
        self.scores = scores
        self.tag_vocab = sorted({key for preds in scores.values() for key, _s, _sel in preds})

    def predict(self, texts: Sequence[str], min_score: float = 0.0) -> list[list[TagPrediction]]:
        return [
            [
                TagPrediction(key, score, selected)
                for key, score, selected in sorted(self.scores[t], key=lambda p: -p[1])
            ]
            for t in texts
        ]


LEARNED = {
    "facet": "category",
    "level": "facet",
    "allowed": {
        "category:bags": ["category", "colour"],
        "category:clothes": ["category", "colour", "material"],
    },
    "min_support": 5,
    "support": {"category:bags": 9, "category:clothes": 9},
}


@pytest.fixture
def scored(
    category_tags: dict[str, Tag], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], dict[str, dict[str, Suggestion]]]:
    """Score three products with fixed predictions: a sure bag, an unsure one, and
    one whose category (bags) was approved though the model thinks clothes."""
    sure = ProductFactory(title="sure bag")
    unsure = ProductFactory(title="unsure bag")
    approved = ProductFactory(title="approved bag")
    ProductTagFactory(product=approved, tag=category_tags["bags"])
    others = [("material:leather", 0.9, True), ("colour:red", 0.8, True)]
    model = FakeModel(
        {
            sure.model_text: [
                ("category:bags", 0.9, True),
                ("category:clothes", 0.1, False),
                *others,
            ],
            unsure.model_text: [
                ("category:bags", 0.4, False),
                ("category:clothes", 0.3, False),
                *others,
            ],
            approved.model_text: [
                ("category:clothes", 0.8, True),
                ("category:bags", 0.2, False),
                *others,
            ],
        }
    )
    monkeypatch.setattr(scoring, "load_model", lambda version: model)
    version = ModelVersionFactory(status=ModelVersion.Status.ACTIVE, category_schema=LEARNED)

    def score() -> dict[str, dict[str, Suggestion]]:
        products = [sure, unsure, approved]
        scoring.score_products(version, [p.pk for p in products])
        rows = Suggestion.objects.filter(model_version=version).select_related("tag__group")
        return {p.title: {s.tag.key: s for s in rows if s.product_id == p.pk} for p in products}

    return score


@pytest.mark.django_db
def test_scoring_drops_the_facets_a_category_does_not_have(scored: Callable) -> None:
    rows = scored()

    # Bags have no material: not stored, so neither selected nor pre-ticked.
    assert "material:leather" not in rows["sure bag"]
    assert rows["sure bag"]["colour:red"].selected
    assert rows["sure bag"]["category:bags"].selected
    # An approved category decides, whatever the model thinks.
    assert "material:leather" not in rows["approved bag"]
    # Below 0.5 the category is unsure: nothing is masked.
    assert rows["unsure bag"]["material:leather"].selected


@pytest.mark.django_db
def test_an_admin_override_wins_over_the_learned_schema(
    scored: Callable, category_tags: dict[str, Tag], taxonomy: dict[str, Tag]
) -> None:
    bags = category_tags["bags"]
    material = taxonomy["material:cotton"].group
    colour = taxonomy["colour:red"].group

    categories.set_category_rule(bags, material, True, user=None)
    categories.set_category_rule(bags, colour, False, user=None)
    rows = scored()

    assert rows["sure bag"]["material:leather"].selected
    assert "colour:red" not in rows["sure bag"]

    # Back to what the model learned.
    categories.set_category_rule(bags, material, None, user=None)
    assert not CategoryFacet.objects.filter(facet=material).exists()
    assert "material:leather" not in scored()["sure bag"]


@pytest.mark.django_db
def test_the_marked_facet_is_the_category_facet_and_only_one_is(
    category_tags: dict[str, Tag], taxonomy: dict[str, Tag]
) -> None:
    colour = taxonomy["colour:red"].group
    material = taxonomy["material:cotton"].group
    assert categories.category_facet() == category_tags["bags"].group  # named "category"

    categories.mark_category_facet(colour, True)
    categories.mark_category_facet(material, True)

    assert categories.category_facet() == material
    colour.refresh_from_db()
    assert not colour.is_category
    # A schema learned for another facet counts as nothing learned.
    schema = categories.effective_schema(LEARNED)
    assert schema is not None
    assert schema.facet == "material"
    assert schema.allowed == {}
