from collections import Counter

import pytest

from annotation.models import Product, Tag
from tests.training.conftest import MakeCatalogue
from training.services import datasets, evalset


def eval_ids() -> set[int]:
    return set(Product.objects.filter(is_eval=True).values_list("id", flat=True))


def test_stratified_sample_gives_every_tag_with_two_examples_a_place() -> None:
    # 40 items of a common tag, and two rare tags with 2 and 3 items.
    labels = {i: ["common"] for i in range(40)}
    labels.update({40: ["common", "rare2"], 41: ["rare2"], 42: ["rare3"], 43: ["rare3"]})
    labels[44] = ["rare3"]

    picked = evalset.stratified_sample(labels, size=7, seed=0)

    assert len(picked) == 7
    tags_in_sample = {tag for i in picked for tag in labels[i]}
    assert tags_in_sample == {"common", "rare2", "rare3"}


def test_stratified_sample_keeps_each_tags_share() -> None:
    labels = {i: ["a"] if i % 4 else ["b"] for i in range(200)}  # 75% a, 25% b

    picked = evalset.stratified_sample(labels, size=40, seed=3)

    counts = Counter(labels[i][0] for i in picked)
    assert counts == {"a": 30, "b": 10}


def test_stratified_sample_is_reproducible_with_a_seed() -> None:
    labels = {i: [f"t{i % 7}", f"u{i % 3}"] for i in range(100)}

    assert evalset.stratified_sample(labels, 15, seed=1) == evalset.stratified_sample(
        labels, 15, seed=1
    )


@pytest.mark.django_db
def test_no_eval_set_is_drawn_before_enough_products_are_labeled(
    make_catalogue: MakeCatalogue,
) -> None:
    make_catalogue(evalset.MIN_LABELED - 1)

    change = evalset.ensure_eval_set()

    assert change.added == 0
    assert eval_ids() == set()


@pytest.mark.django_db
def test_the_first_draw_takes_about_fifteen_percent_covering_every_tag(
    make_catalogue: MakeCatalogue,
) -> None:
    make_catalogue(100, labeled=80)

    change = evalset.ensure_eval_set()

    assert change.added == 12  # 15% of 80 labeled; unlabeled products never qualify
    assert len(eval_ids()) == 12
    held_out = datasets.labeled_examples(eval_only=True)
    assert set(held_out.product_ids) == eval_ids()
    assert {tag for labels in held_out.labels for tag in labels} == {
        tag.key for tag in Tag.objects.select_related("group")
    }


@pytest.mark.django_db
def test_the_eval_set_is_frozen_until_labels_grow_by_twenty_percent(
    make_catalogue: MakeCatalogue,
) -> None:
    make_catalogue(100)
    evalset.ensure_eval_set()
    first = eval_ids()

    make_catalogue(19, start=100)  # +19%: below the rule
    change = evalset.ensure_eval_set()

    assert change.added == 0
    assert eval_ids() == first


@pytest.mark.django_db
def test_the_eval_set_grows_from_new_products_only_and_never_shrinks(
    make_catalogue: MakeCatalogue,
) -> None:
    make_catalogue(100)
    evalset.ensure_eval_set()
    first = eval_ids()

    new = make_catalogue(40, start=100)  # +40%
    change = evalset.ensure_eval_set()

    grown = eval_ids()
    assert first < grown
    assert change.added == len(grown) - len(first) == 21 - 15  # 15% of 140 = 21
    assert grown - first <= {p.pk for p in new}


@pytest.mark.django_db
def test_training_data_never_contains_eval_products(make_catalogue: MakeCatalogue) -> None:
    make_catalogue(60)
    evalset.ensure_eval_set()

    train = datasets.labeled_examples()

    assert train.product_ids
    assert not set(train.product_ids) & eval_ids()
    assert len(train) + len(eval_ids()) == 60
