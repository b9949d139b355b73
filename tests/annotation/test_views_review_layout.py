"""The review page's layout (issue #13): pre-ticks only what is likely right, a
key for every listed tag, and the reason a tag is ticked in words."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from tests.annotation.ui_catalog import build_catalog, enqueue, suggest
from tests.factories import ModelVersionFactory, ProductFactory, TagFactory, TagGroupFactory
from training.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(client: Client, merchandiser: User) -> Client:
    client.force_login(merchandiser)
    return client


def trained_version(keys: list[str], threshold: float = 0.5) -> ModelVersion:
    return ModelVersionFactory(
        mode=ModelVersion.Mode.HEAD,
        status=ModelVersion.Status.ACTIVE,
        thresholds=dict.fromkeys(keys, threshold),
        tag_vocab=keys,
    )


def test_a_trained_model_pre_ticks_only_tags_above_their_bar(reviewer_client: Client) -> None:
    group = TagGroupFactory(name="material")
    cotton = TagFactory(group=group, name="cotton")
    wool = TagFactory(group=group, name="wool")
    version = trained_version([cotton.key, wool.key])
    product = ProductFactory(title="A shirt")
    suggest(product, cotton, version, 0.95)
    suggest(product, wool, version, 0.7)  # selected by the model, below the 0.9 bar
    enqueue(product, 1.0)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert (
        f'id="tag-{cotton.pk}" data-facet="material" data-key="1" aria-keyshortcuts="1" checked>'
        in html
    )
    assert f'id="tag-{wool.pk}" data-facet="material" data-key="2" aria-keyshortcuts="2">' in html
    assert "model is sure" in html
    assert "unsure" in html


@override_settings(TAGGER_PRETICK_PRECISION=0.6)
def test_the_precision_target_is_a_setting(reviewer_client: Client) -> None:
    group = TagGroupFactory(name="material")
    wool = TagFactory(group=group, name="wool")
    version = trained_version([wool.key])
    product = ProductFactory(title="A jumper")
    suggest(product, wool, version, 0.7)
    enqueue(product, 1.0)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert (
        f'id="tag-{wool.pk}" data-facet="material" data-key="1" aria-keyshortcuts="1" checked>'
        in html
    )


def test_the_twelfth_tag_has_a_letter_key(reviewer_client: Client) -> None:
    tags = [TagFactory(group=TagGroupFactory(name=f"f{i:02d}", position=i)) for i in range(12)]
    version = trained_version([t.key for t in tags])
    product = ProductFactory(title="A product with many facets")
    for tag in tags:
        suggest(product, tag, version, 0.95)
    enqueue(product, 1.0)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    twelfth = tags[11]
    assert f'id="tag-{twelfth.pk}" data-facet="f11" data-key="c" aria-keyshortcuts="c"' in html
    assert '<kbd class="key" aria-hidden="true">c</kbd>' in html


def test_a_facet_with_no_candidate_above_its_bar_stays_empty(reviewer_client: Client) -> None:
    group = TagGroupFactory(name="category", multi_valued=False)
    pants = TagFactory(group=group, name="pants")
    version = trained_version([pants.key], threshold=0.05)
    product = ProductFactory(title="A backpack")
    suggest(product, pants, version, 0.08)  # the old rule ticked a facet's best at 0.08
    enqueue(product, 1.0)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert f'id="tag-{pants.pk}"' in html
    assert " checked>" not in html


def test_suggestions_stay_while_the_new_version_re_scores(reviewer_client: Client) -> None:
    catalog = build_catalog(products=1)
    old = catalog.version
    old.status = ModelVersion.Status.ARCHIVED
    old.save(update_fields=["status"])
    new = trained_version([t.key for t in catalog.tags.values()])
    red = catalog.tags["red"]

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert f'id="tag-{red.pk}" data-facet="color" data-single data-key="1"' in html
    assert f"The new model v{new.pk} is still re-scoring the catalogue" in html
    assert f"model v{old.pk}\u2019s suggestions" in html


def test_no_banner_once_the_new_version_has_scored_the_product(reviewer_client: Client) -> None:
    catalog = build_catalog(products=1)
    old = catalog.version
    old.status = ModelVersion.Status.ARCHIVED
    old.save(update_fields=["status"])
    new = trained_version([t.key for t in catalog.tags.values()])
    suggest(catalog.products[0], catalog.tags["silk"], new, 0.95)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert "re-scoring" not in html
    assert f'id="tag-{catalog.tags["silk"].pk}"' in html
    assert f'id="tag-{catalog.tags["red"].pk}"' not in html
