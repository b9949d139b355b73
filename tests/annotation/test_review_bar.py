"""The review page's pre-tick bar for a trained version: read from the scores of
the products it scored (annotation.services.review.layout.pretick_bar)."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from annotation.services.review.layout import pretick_bar
from tests.annotation.ui_catalog import build_catalog, enqueue, suggest
from tests.factories import ProductFactory
from training.models import ModelVersion

pytestmark = pytest.mark.django_db


def trained_catalog():  # type: ignore[no-untyped-def]  # (catalog, version, products)
    """Four products: red 0.99 (colour, single-valued) and cotton 0.85, 0.8, 0.6,
    0.55 (material). Best first, the pool's running means are 0.99 (x4), 0.962,
    0.935 (with 0.8), 0.887 (with 0.6): at a 0.9 target the bar is 0.8."""
    catalog = build_catalog(products=0)
    version = catalog.version
    version.mode = ModelVersion.Mode.HEAD
    version.save(update_fields=["mode"])
    products = []
    for i, cotton in enumerate([0.85, 0.8, 0.6, 0.55]):
        product = ProductFactory(external_id=f"P{i}", title=f"Shirt {i}")
        suggest(product, catalog.tags["red"], version, 0.99)
        suggest(product, catalog.tags["cotton"], version, cotton)
        suggest(product, catalog.tags["wool"], version, 0.3)
        products.append(product)
    return catalog, version, products


def test_the_bar_is_the_lowest_score_that_keeps_the_target() -> None:
    _, version, _ = trained_catalog()

    assert pretick_bar(version) == pytest.approx(0.8)


@override_settings(TAGGER_PRETICK_PRECISION=0.95)
def test_a_higher_target_raises_the_bar() -> None:
    _, version, _ = trained_catalog()

    assert pretick_bar(version) == pytest.approx(0.85)


@pytest.mark.parametrize(("index", "ticked"), [(1, True), (2, False)])
def test_the_page_ticks_what_clears_the_bar(
    client: Client, merchandiser: object, index: int, ticked: bool
) -> None:
    catalog, _, products = trained_catalog()
    enqueue(products[index], priority=1.0)
    client.force_login(merchandiser)  # type: ignore[arg-type]

    response = client.get(reverse("annotation:review"))

    rows = {t.tag_id: t for block in response.context["blocks"] for t in block.tags}
    cotton = rows[catalog.tags["cotton"].pk]
    assert cotton.checked is ticked
    assert cotton.reason == ("above_bar" if ticked else None)
    assert rows[catalog.tags["red"].pk].checked
