"""Possible mistakes into the queue, the product page's account of them, and the
dashboard's stopping forecast."""

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import Product, ProductTag, ProjectSettings, QueueEntry, Tag
from annotation.services import queue
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    QueueEntryFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
)
from training.models import ModelVersion
from training.services import mistakes, ranking

pytestmark = pytest.mark.django_db

COLOURS = ("red", "blue", "green")
N = 60  # products per test catalogue: above mistakes.MIN_DECISIONS


@pytest.fixture
def colours() -> dict[str, Tag]:
    group = TagGroupFactory(name="color", multi_valued=False)
    return {name: TagFactory(group=group, name=name) for name in COLOURS}


def reviewed(product: Product) -> QueueEntry:
    return QueueEntryFactory(
        product=product, completed_at=timezone.now(), reviews_done=1, reviews_needed=1
    )


@pytest.fixture
def catalogue(colours: dict[str, Tag], monkeypatch: pytest.MonkeyPatch) -> list[Product]:
    """N reviewed products, a colour each; product 0 is red (its embedding sits
    in the red cluster) but was approved as blue."""
    rng = np.random.default_rng(0)
    products, truth = [], []
    for i in range(N):
        colour = COLOURS[i % 3]
        product = ProductFactory(title=f"Item {i}")
        given = "blue" if i == 0 else colour
        ProductTagFactory(product=product, tag=colours[given], source=ProductTag.Source.HUMAN)
        reviewed(product)
        products.append(product)
        truth.append(COLOURS.index(colour))
    centres = np.eye(3) * 4.0
    by_text = {
        p.model_text: centres[t] + rng.normal(scale=0.3, size=3)
        for p, t in zip(products, truth, strict=True)
    }

    def embed(version: ModelVersion, texts: list[str]) -> np.ndarray:
        return np.asarray([by_text[t] for t in texts], dtype=np.float32)

    monkeypatch.setattr(mistakes, "_embed", embed)
    return products


def active_version() -> ModelVersion:
    return ModelVersionFactory(status="active", tag_vocab=[f"color:{c}" for c in COLOURS])


def test_a_decision_the_model_contradicts_goes_back_to_the_queue(
    catalogue: list[Product],
) -> None:
    version = active_version()

    sent = mistakes.flag_possible_mistakes(version)

    entry = QueueEntry.objects.get(product=catalogue[0])
    assert sent >= 1
    assert entry.completed_at is None
    assert entry.reason == QueueEntry.Reason.POSSIBLE_MISTAKE
    assert entry.reviews_needed == entry.reviews_done + 1
    (doubt,) = [d for d in entry.detail["possible_mistake"] if d["tag"] == "color:blue"]
    assert doubt["approved"] is True
    assert doubt["expected"] == "color:red"
    assert doubt["expected_score"] > doubt["score"]
    # The flagged product is first in the queue.
    first = QueueEntry.objects.filter(completed_at__isnull=True).order_by("-priority").first()
    assert first is not None
    assert first.product_id == catalogue[0].pk


def test_a_decision_is_questioned_once(catalogue: list[Product]) -> None:
    version = active_version()
    mistakes.flag_possible_mistakes(version)
    # A person looks again and keeps "blue".
    QueueEntry.objects.filter(product=catalogue[0]).update(
        completed_at=timezone.now(), reviews_done=2
    )

    mistakes.flag_possible_mistakes(version)

    assert QueueEntry.objects.get(product=catalogue[0]).completed_at is not None


def test_a_share_of_zero_turns_the_detector_off(catalogue: list[Product]) -> None:
    settings = ProjectSettings.load()
    settings.mistake_share = 0.0
    settings.save()

    assert mistakes.flag_possible_mistakes(active_version()) == 0
    assert not QueueEntry.objects.filter(completed_at__isnull=True).exists()


def test_re_ranking_keeps_a_possible_mistake_where_it_is(colours: dict[str, Tag]) -> None:
    done, waiting = ProductFactory(), ProductFactory(queued=True)
    reviewed(done)
    version = active_version()
    SuggestionFactory(product=waiting, tag=colours["red"], model_version=version, score=0.5)
    queue.send_back(
        {done.pk: {"possible_mistake": [], "questioned": []}},
        reason=QueueEntry.Reason.POSSIBLE_MISTAKE,
        strategy=mistakes.STRATEGY,
        model_version_id=version.pk,
    )
    before = QueueEntry.objects.get(product=done)

    ranking.rank_queue(version, seed=0)

    after = QueueEntry.objects.get(product=done)
    assert after.reason == QueueEntry.Reason.POSSIBLE_MISTAKE  # not "overlap"
    assert after.priority == before.priority
    assert QueueEntry.objects.get(product=waiting).strategy == "diverse_long_tail"


def test_send_back_leaves_open_entries_alone(colours: dict[str, Tag]) -> None:
    waiting = ProductFactory(queued=True)

    opened = queue.send_back(
        {waiting.pk: {"possible_mistake": []}},
        reason=QueueEntry.Reason.POSSIBLE_MISTAKE,
        strategy=mistakes.STRATEGY,
        model_version_id=None,
    )

    assert opened == 0
    assert QueueEntry.objects.get(product=waiting).reason == QueueEntry.Reason.NEW_PRODUCT


def test_the_product_page_says_why_the_product_is_back(
    client: Client, merchandiser: User, catalogue: list[Product]
) -> None:
    mistakes.flag_possible_mistakes(active_version())
    client.force_login(merchandiser)

    html = client.get(reverse("annotation:product", args=[catalogue[0].pk])).content.decode()

    assert "Possible mistake: the model contradicts a decision" in html
    assert "color:blue was approved, but the model, trained without this product" in html
    assert "expects color:red" in html


def curve_version(labels: int, f1: float) -> ModelVersion:
    return ModelVersionFactory(
        status="archived", metrics={"micro_f1": f1, "macro_f1": f1 / 2, "labeled_count": labels}
    )


def test_the_dashboard_forecasts_the_labels_to_the_target(
    client: Client, merchandiser: User
) -> None:
    for labels in (100, 200, 300, 400, 500):
        curve_version(labels, 0.92 - 1.2 * labels**-0.6)
    settings = ProjectSettings.load()
    settings.target_f1 = 0.9
    settings.save()
    client.force_login(merchandiser)

    html = client.get(reverse("training:dashboard")).content.decode()

    # By hand: (1.2 / 0.02) ** (1 / 0.6) = 921 labels in all, 421 more.
    assert "When to stop" in html
    assert "more labels" in html
    assert "to reach micro-F1 0.900 at the current rate" in html
    assert "Fitted on 5 model versions" in html


def test_the_dashboard_waits_for_enough_versions_before_forecasting(
    client: Client, merchandiser: User
) -> None:
    curve_version(100, 0.6)
    client.force_login(merchandiser)

    html = client.get(reverse("training:dashboard")).content.decode()

    assert "appears once four trained versions have been measured" in html
