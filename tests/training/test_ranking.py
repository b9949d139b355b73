import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotation.models import (
    Product,
    ProjectSettings,
    QueueEntry,
    Tag,
    TagGroup,
)
from annotation.services import queue
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
    UserFactory,
)
from training.models import ModelVersion
from training.services import ranking

pytestmark = pytest.mark.django_db


@pytest.fixture
def tags() -> dict[str, Tag]:
    color = TagGroupFactory(name="color")
    material = TagGroupFactory(name="material")
    return {
        "color:red": TagFactory(group=color, name="red"),
        "color:blue": TagFactory(group=color, name="blue"),
        "material:cotton": TagFactory(group=material, name="cotton"),
    }


def make_version(status: str = "active", **fields: object) -> ModelVersion:
    fields.setdefault("tag_vocab", ["color:red", "color:blue", "material:cotton"])
    fields.setdefault("thresholds", {"color:red": 0.3})
    return ModelVersionFactory(mode="head", status=status, base_model="tiny", **fields)


def suggest(version: ModelVersion, product: Product, tag: Tag, score: float) -> None:
    SuggestionFactory(product=product, tag=tag, model_version=version, score=score)


def use_strategy(name: str, exploration: float = 0.0) -> None:
    settings = ProjectSettings.load()
    settings.queue_strategy = name
    settings.exploration_share = exploration
    settings.save()


def entries_by_priority() -> list[QueueEntry]:
    return list(QueueEntry.objects.filter(completed_at__isnull=True).order_by("-priority", "pk"))


def test_score_matrix_puts_each_suggestion_in_its_tag_column(tags: dict[str, Tag]) -> None:
    # given
    version = make_version()
    older = make_version(status="archived")
    first, second, unscored, not_asked = ProductFactory.create_batch(4, queued=True)
    suggest(version, first, tags["color:red"], 0.8)
    suggest(version, first, tags["material:cotton"], 0.1)
    suggest(version, second, tags["color:blue"], 0.6)
    suggest(version, not_asked, tags["color:blue"], 0.9)
    suggest(older, unscored, tags["color:red"], 0.7)
    # when
    ids, proba, thresholds, vocab = ranking.score_matrix(
        version, [unscored.pk, second.pk, first.pk]
    )
    # then
    assert ids.tolist() == [first.pk, second.pk, unscored.pk]
    assert vocab == ["color:red", "color:blue", "material:cotton"]
    np.testing.assert_allclose(thresholds, [0.3, 0.5, 0.5])
    np.testing.assert_allclose(proba, [[0.8, 0.0, 0.1], [0.0, 0.6, 0.0], [0.0, 0.0, 0.0]])
    assert proba.dtype == np.float32


def test_score_matrix_keeps_a_zero_column_for_a_tag_gone_from_the_taxonomy(
    tags: dict[str, Tag],
) -> None:
    version = make_version(tag_vocab=["color:red", "color:gone"], thresholds={})
    product = ProductFactory(queued=True)
    suggest(version, product, tags["color:red"], 0.4)
    suggest(version, product, tags["color:blue"], 0.9)  # outside the version's vocabulary

    _, proba, thresholds, vocab = ranking.score_matrix(version, [product.pk])

    assert vocab == ["color:red", "color:gone"]
    np.testing.assert_allclose(proba, [[0.4, 0.0]])
    np.testing.assert_allclose(thresholds, [0.5, 0.5])


def test_label_counts_count_approved_tags_only(tags: dict[str, Tag]) -> None:
    products = ProductFactory.create_batch(3, queued=True)
    now = timezone.now()
    for product, state in zip(products, ["approved", "approved", "rejected"], strict=True):
        ProductTagFactory(
            product=product, tag=tags["color:red"], state=state, source="human", decided_at=now
        )
    ProductTagFactory(
        product=products[0],
        tag=tags["material:cotton"],
        state="approved",
        source="import",
        decided_at=now,
    )

    counts = ranking.label_counts(["material:cotton", "color:blue", "color:red"])

    assert counts.tolist() == [1.0, 0.0, 2.0]


def test_rank_queue_puts_the_closest_call_first(tags: dict[str, Tag]) -> None:
    # given: one product on red's threshold, the others far from every threshold
    use_strategy("margin_min")
    version = make_version()
    sure_yes, on_the_fence, _sure_no = ProductFactory.create_batch(3, queued=True)
    suggest(version, sure_yes, tags["color:red"], 0.99)
    suggest(version, on_the_fence, tags["color:red"], 0.3)
    # when
    ranked = ranking.rank_queue(version, seed=1)
    # then
    assert ranked == 3
    top = entries_by_priority()[0]
    assert top.product_id == on_the_fence.pk
    assert (top.reason, top.strategy, top.model_version) == ("uncertain", "margin_min", version)
    assert abs(top.ranked_at - timezone.now()) < timedelta(minutes=5)


def test_rank_queue_ranks_with_the_active_version_by_default(tags: dict[str, Tag]) -> None:
    use_strategy("margin_min")
    make_version(status="archived")
    active = make_version()
    ProductFactory.create_batch(2, queued=True)

    ranking.rank_queue(seed=0)

    assert set(QueueEntry.objects.values_list("model_version", flat=True)) == {active.pk}


def test_rank_queue_keeps_live_leases_and_skips_reviewed_products(
    tags: dict[str, Tag],
) -> None:
    # given
    use_strategy("margin_min")
    version = make_version()
    leased, reviewed, other = ProductFactory.create_batch(3, queued=True)
    reviewer = UserFactory(username="rev")
    expires = timezone.now() + timedelta(minutes=5)
    QueueEntry.objects.filter(product=leased).update(leased_by=reviewer, lease_expires_at=expires)
    QueueEntry.objects.filter(product=reviewed).update(completed_at=timezone.now(), priority=-1)
    suggest(version, leased, tags["color:red"], 0.3)
    # when
    ranked = ranking.rank_queue(version, seed=0)
    # then
    held = QueueEntry.objects.get(product=leased)
    done = QueueEntry.objects.get(product=reviewed)
    assert ranked == 2
    assert (held.leased_by, held.lease_expires_at) == (reviewer, expires)
    assert (done.priority, done.ranked_at) == (-1, None)
    assert queue.claim_next(UserFactory(username="next")).product_id == other.pk


def test_exploration_share_reserves_part_of_the_batch_for_random_products(
    tags: dict[str, Tag],
) -> None:
    use_strategy("margin_min", exploration=0.5)
    version = make_version()
    for i, product in enumerate(ProductFactory.create_batch(20, queued=True)):
        suggest(version, product, tags["color:red"], i / 20)

    ranking.rank_queue(version, batch_size=4, seed=3)

    top_reasons = [e.reason for e in entries_by_priority()[:4]]
    assert top_reasons.count("exploration") == 2
    assert top_reasons.count("uncertain") == 2


def test_a_second_opinion_entry_keeps_its_overlap_reason(tags: dict[str, Tag]) -> None:
    use_strategy("margin_min")
    version = make_version()
    waiting, fresh = ProductFactory.create_batch(2, queued=True)
    QueueEntry.objects.filter(product=waiting).update(reviews_needed=2, reviews_done=1)

    ranking.rank_queue(version, seed=0)

    assert QueueEntry.objects.get(product=waiting).reason == "overlap"
    assert QueueEntry.objects.get(product=fresh).reason == "uncertain"


def test_cold_start_without_any_model_serves_the_newest_products_first() -> None:
    products = ProductFactory.create_batch(3, queued=True)
    for age, product in zip([3, 1, 2], products, strict=True):
        Product.objects.filter(pk=product.pk).update(
            created_at=timezone.now() - timedelta(days=age)
        )

    ranked = ranking.rank_queue(seed=0)

    order = [e.product_id for e in entries_by_priority()]
    assert ranked == 3
    assert order == [products[1].pk, products[2].pk, products[0].pk]
    assert set(QueueEntry.objects.values_list("reason", "strategy")) == {("new_product", "newest")}


def fake_embeddings(
    groups: dict[int, int],
) -> Callable[[ModelVersion, Sequence[int]], np.ndarray]:
    """An embedder that puts each product at its group's corner (plus a little noise)."""

    def embed(version: ModelVersion, product_ids: Sequence[int]) -> np.ndarray:
        noise = np.random.default_rng(0).normal(0, 0.01, (len(product_ids), 3))
        return np.eye(3)[[groups[pid] for pid in product_ids]] + noise

    return embed


def test_cold_start_with_a_zero_shot_model_picks_one_product_per_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: nine products in three tight clusters, a zero-shot model to embed them
    ModelVersionFactory(mode="zero_shot", status="ready", base_model="tiny")
    monkeypatch.setattr(ranking.versions, "has_artifact", lambda version: True)
    products = ProductFactory.create_batch(9, queued=True)
    groups = {p.pk: i % 3 for i, p in enumerate(products)}
    monkeypatch.setattr(ranking, "embed_products", fake_embeddings(groups))
    # when
    ranking.rank_queue(batch_size=3, seed=0)
    # then
    top = entries_by_priority()[:3]
    assert sorted(groups[e.product_id] for e in top) == [0, 1, 2]
    assert {e.reason for e in top} == {"diverse"}
    assert {e.strategy for e in top} == {"cold_start"}


def test_a_diverse_strategy_never_batches_two_copies_of_a_product(
    tags: dict[str, Tag], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the two closest calls embed identically (the same listing twice)
    use_strategy("diverse_long_tail")
    version = make_version()
    twin_a, twin_b, other, far = ProductFactory.create_batch(4, queued=True)
    suggest(version, twin_a, tags["color:red"], 0.3)
    suggest(version, twin_b, tags["color:red"], 0.31)
    suggest(version, other, tags["color:red"], 0.4)
    suggest(version, far, tags["color:red"], 0.99)
    groups = {twin_a.pk: 0, twin_b.pk: 0, other.pk: 1, far.pk: 2}

    def embed(version: ModelVersion, product_ids: Sequence[int]) -> np.ndarray:
        return np.eye(3)[[groups[pid] for pid in product_ids]]

    monkeypatch.setattr(ranking, "embed_products", embed)
    # when
    ranking.rank_queue(version, batch_size=2, seed=0)
    # then
    top = {e.product_id for e in entries_by_priority()[:2]}
    assert len(top & {twin_a.pk, twin_b.pk}) == 1


def test_a_diverse_strategy_without_model_files_ranks_without_diversity(
    tags: dict[str, Tag], caplog: pytest.LogCaptureFixture
) -> None:
    use_strategy("diverse_long_tail")
    version = make_version(artifact_path="/nonexistent/model")
    products = ProductFactory.create_batch(3, queued=True)
    suggest(version, products[1], tags["color:red"], 0.3)

    with caplog.at_level(logging.WARNING, logger="training.services.ranking"):
        ranked = ranking.rank_queue(version, seed=0)

    assert ranked == 3
    assert "without diversity" in caplog.text
    assert entries_by_priority()[0].product_id == products[1].pk


def test_embed_products_gives_none_when_the_model_cannot_load(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    version = make_version(artifact_path="/somewhere")
    product = ProductFactory(queued=True)
    monkeypatch.setattr(ranking.versions, "has_artifact", lambda v: True)

    def broken(v: ModelVersion) -> None:
        raise OSError("truncated safetensors file")

    monkeypatch.setattr(ranking.versions, "load_model", broken)

    with caplog.at_level(logging.WARNING, logger="training.services.ranking"):
        assert ranking.embed_products(version, [product.pk]) is None

    assert "truncated safetensors file" in caplog.text


def test_rank_queue_refuses_an_unknown_strategy(tags: dict[str, Tag]) -> None:
    use_strategy("psychic")
    version = make_version()
    ProductFactory(queued=True)

    with pytest.raises(ValueError, match="psychic"):
        ranking.rank_queue(version)


def test_rank_queue_with_an_empty_queue_ranks_nothing() -> None:
    assert ranking.rank_queue(make_version()) == 0


def test_a_close_call_inside_a_single_valued_facet_ranks_first(tags: dict[str, Tag]) -> None:
    # given: colour is single-valued, so red 0.90 vs blue 0.88 is the model's
    # hardest decision even though both scores are far above their thresholds
    TagGroup.objects.filter(name="color").update(multi_valued=False)
    use_strategy("margin_min")
    version = make_version()
    torn, moderate, sure = ProductFactory.create_batch(3, queued=True)
    suggest(version, torn, tags["color:red"], 0.90)
    suggest(version, torn, tags["color:blue"], 0.88)
    suggest(version, moderate, tags["material:cotton"], 0.6)
    suggest(version, sure, tags["color:red"], 0.9)
    suggest(version, sure, tags["color:blue"], 0.05)
    # when
    ranking.rank_queue(version, seed=0)
    # then
    assert [e.product_id for e in entries_by_priority()[:2]] == [torn.pk, moderate.pk]


def test_single_valued_groups_follow_the_taxonomy(tags: dict[str, Tag]) -> None:
    TagGroup.objects.filter(name="color").update(multi_valued=False)

    groups = ranking.single_valued_groups(["material:cotton", "color:red", "color:blue"])

    assert groups == [[1, 2]]
