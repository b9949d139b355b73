import numpy as np
import pytest
from modAL.multilabel import min_confidence
from modAL.uncertainty import classifier_entropy, classifier_margin, classifier_uncertainty

from training.ml.query import (
    DIVERSE,
    EXPLORATION,
    RARE_SHARE,
    RARE_TAG,
    STRATEGIES,
    UNCERTAIN,
    QueryContext,
    ThresholdScaledTagger,
    rank,
    threshold_scaled,
)
from training.ml.query import scores as query_scores
from training.ml.query.selection import sorted_desc

# Five products, two tags, every threshold 0.5 (so scores are used as they are).
# Per-tag margins |2p - 1|, binary entropies H(p) and confidences max(p, 1 - p):
#   P0 [0.5,   0.9  ] margins 0,    0.8   min 0    mean 0.40  H mean 0.734  1 - conf prod 0.550
#   P1 [0.725, 0.725] margins 0.45, 0.45  min 0.45 mean 0.45  H mean 0.849  1 - conf prod 0.474
#   P2 [0.6,   0.98 ] margins 0.2,  0.96  min 0.2  mean 0.58  H mean 0.556  1 - conf prod 0.412
#   P3 [0.1,   0.1  ] margins 0.8,  0.8   min 0.8  mean 0.80  H mean 0.469  1 - conf prod 0.190
#   P4 [0.69,  0.69 ] margins 0.38, 0.38  min 0.38 mean 0.38  H mean 0.893  1 - conf prod 0.524
FIVE = np.array(
    [[0.5, 0.9], [0.725, 0.725], [0.6, 0.98], [0.1, 0.1], [0.69, 0.69]], dtype=np.float32
)
HALF = np.array([0.5, 0.5])


def ctx(proba: np.ndarray = FIVE, thresholds: np.ndarray = HALF, **kw: object) -> QueryContext:
    return QueryContext(proba=proba, thresholds=thresholds, **kw)


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("margin_min", [0, 2, 4, 1, 3]),  # smallest single margin first
        ("margin_mean", [4, 0, 1, 2, 3]),  # smallest mean margin first
        ("entropy", [4, 1, 0, 2, 3]),  # largest mean entropy first
        ("least_confidence", [0, 4, 1, 2, 3]),  # least likely predicted tag set first
    ],
)
def test_uncertainty_strategies_rank_as_computed_by_hand(strategy: str, expected: list) -> None:
    ranking = rank(strategy, ctx(), batch_size=5, rng=rng())

    assert ranking.order.tolist() == expected
    assert ranking.reason == [UNCERTAIN] * 5


def test_a_batch_is_the_head_of_the_full_ranking() -> None:
    ranking = rank("margin_mean", ctx(), batch_size=2, rng=rng())

    assert ranking.order.tolist() == [4, 0]


def test_priority_puts_the_batch_first_in_batch_order_then_the_rest_by_score() -> None:
    ranking = rank("margin_min", ctx(), batch_size=2, rng=rng())

    by_priority = np.argsort(-ranking.priority, kind="stable").tolist()
    assert by_priority == [0, 2, 4, 1, 3]


def test_uncertainty_is_measured_against_each_tags_own_threshold() -> None:
    # Tag 0 decides at 0.2: a score of 0.2 sits on its threshold, 0.5 is a clear yes.
    proba = np.array([[0.5], [0.2], [0.05]])
    thresholds = np.array([0.2])

    ranking = rank("margin_min", ctx(proba, thresholds), batch_size=3, rng=rng())

    # Scaled scores 0.6875, 0.5, 0.125: margins 0.375, 0, 0.75. Against a flat 0.5
    # the order would have been [0, 1, 2].
    assert ranking.order.tolist() == [1, 0, 2]


def test_the_threshold_transform_sends_the_threshold_to_one_half_and_keeps_the_ends() -> None:
    proba = np.array([[0.0, 0.2, 0.1, 0.6, 1.0]])
    thresholds = np.full(5, 0.2)

    scaled = threshold_scaled(proba, thresholds)

    np.testing.assert_allclose(scaled, [[0.0, 0.5, 0.25, 0.75, 1.0]])


def test_random_ignores_the_scores() -> None:
    flipped = FIVE[::-1].copy()

    first = rank("random", ctx(), batch_size=5, rng=np.random.default_rng(7))
    second = rank("random", ctx(flipped), batch_size=5, rng=np.random.default_rng(7))

    assert first.order.tolist() == second.order.tolist()
    assert sorted(first.order.tolist()) == [0, 1, 2, 3, 4]
    assert first.reason == [EXPLORATION] * 5


def test_an_unknown_strategy_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="unknown query strategy 'bogus'") as error:
        rank("bogus", ctx(), batch_size=2, rng=rng())

    for name in ("random", "margin_min", "long_tail", "cold_start", "default"):
        assert name in str(error.value)


def test_every_advertised_name_ranks() -> None:
    embeddings = np.eye(5, dtype=np.float32)
    for name in STRATEGIES:
        ranking = rank(name, ctx(embeddings=embeddings, label_counts=np.array([3, 0])), 3, rng())
        assert len(set(ranking.order.tolist())) == 3, name


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 1.0])
def test_the_exploration_share_of_the_batch_is_drawn_at_random(share: float) -> None:
    proba = np.random.default_rng(1).random((200, 4))

    ranking = rank("margin_min", ctx(proba, np.full(4, 0.5)), 20, rng(), exploration_share=share)

    assert len(ranking.order) == 20
    assert ranking.reason.count(EXPLORATION) == round(20 * share)
    assert len(set(ranking.order.tolist())) == 20


def test_exploration_never_repeats_what_the_strategy_already_picked() -> None:
    proba = np.random.default_rng(2).random((10, 3))
    ranking = rank("entropy", ctx(proba, np.full(3, 0.5)), 10, rng(), exploration_share=0.3)

    assert sorted(ranking.order.tolist()) == list(range(10))


def test_an_exploration_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="exploration_share"):
        rank("margin_min", ctx(), 2, rng(), exploration_share=1.5)


def test_a_score_matrix_that_does_not_match_the_thresholds_is_refused() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        rank("margin_min", ctx(thresholds=np.array([0.5, 0.5, 0.5])), 2, rng())


def test_a_diverse_batch_never_holds_two_identical_embeddings_while_distinct_ones_exist() -> None:
    # The ten most uncertain products are copies of one product (same embedding);
    # the other twenty are distinct and less uncertain.
    proba = np.concatenate([np.full((10, 1), 0.5), np.linspace(0.6, 0.99, 20)[:, None]])
    embeddings = np.concatenate([np.ones((10, 4)), np.random.default_rng(3).random((20, 4))])

    ranking = rank(
        "diverse_long_tail", ctx(proba, np.array([0.5]), embeddings=embeddings), 6, rng()
    )

    picked = embeddings[ranking.order]
    assert len(np.unique(picked, axis=0)) == 6
    assert 0 <= min(ranking.order) < 10  # one copy of the most uncertain product is kept


def test_a_diverse_batch_looks_past_a_candidate_pool_made_of_copies() -> None:
    # Every candidate in the top 5 x batch shares one embedding.
    proba = np.concatenate([np.full((40, 1), 0.5), np.full((5, 1), 0.9)])
    embeddings = np.concatenate([np.zeros((40, 2)), np.eye(5, 2) + np.arange(5)[:, None]])

    ranking = rank(
        "diverse_long_tail", ctx(proba, np.array([0.5]), embeddings=embeddings), 4, rng()
    )

    assert len(np.unique(embeddings[ranking.order], axis=0)) == 4


def test_cold_start_takes_the_product_nearest_each_clusters_centre() -> None:
    # Three tight clusters; in each, the middle point sits on the centroid.
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    offsets = np.array([[-0.2, 0.0], [0.0, 0.0], [0.2, 0.0]])
    embeddings = np.concatenate([c + offsets for c in centres])  # centre points: 1, 4, 7

    ranking = rank("cold_start", QueryContext.cold(embeddings), 3, rng())

    assert sorted(ranking.order.tolist()) == [1, 4, 7]
    assert ranking.reason == [DIVERSE] * 3


def test_long_tail_lifts_a_product_unsure_about_a_rarely_labeled_tag() -> None:
    # Tag 0 has 99 labeled positives (weight 1/sqrt(100) = 0.1), tag 1 none (weight 1).
    #        margins   closest call  rare-weighted uncertainty 0.1(1-m0) + 1(1-m1)
    # P0 [0.5, 0.0]  0, 1      0     0.1
    # P1 [0.9, 0.4]  0.8, 0.2  0.2   0.02 + 0.8 = 0.82
    # P2 [0.7, 0.9]  0.4, 0.8  0.4   0.06 + 0.2 = 0.26
    # P3 [1.0, 0.0]  1, 1      1     0
    # Percentile ranks (closest call, rare): P0 (1, 1/3), P1 (2/3, 1), P2 (1/3, 2/3),
    # P3 (0, 0); their means order the products P1, P0, P2, P3.
    proba = np.array([[0.5, 0.0], [0.9, 0.4], [0.7, 0.9], [1.0, 0.0]])
    counts = np.array([99, 0])

    boosted = rank("long_tail", ctx(proba, label_counts=counts), 4, rng())
    plain = rank("margin_min", ctx(proba, label_counts=counts), 4, rng())

    assert boosted.order.tolist() == [1, 0, 2, 3]
    assert boosted.reason == [RARE_TAG, UNCERTAIN, RARE_TAG, UNCERTAIN]
    assert plain.order.tolist() == [0, 1, 2, 3]


def test_a_single_valued_facet_is_uncertain_when_its_two_best_tags_are_close() -> None:
    # One facet of three tags. P3's best two tags are both far above the threshold
    # (per-tag margins 0.9 and 0.88) but only 0.01 apart: the facet's call is the
    # closest of all. Facet margins: P0 min(0.1, 0.05), P1 min(0.8, 0.85),
    # P2 min(0.2, 0.3), P3 min(0.9, 0.01).
    proba = np.array([[0.45, 0.40, 0.15], [0.9, 0.05, 0.05], [0.6, 0.1, 0.3], [0.95, 0.94, 0.0]])
    thresholds = np.full(3, 0.5)

    as_facet = rank("margin_min", ctx(proba, thresholds, groups=[[0, 1, 2]]), 4, rng())
    as_tags = rank("margin_min", ctx(proba, thresholds), 4, rng())

    assert as_facet.order.tolist() == [3, 0, 2, 1]
    assert as_tags.order.tolist() == [0, 2, 1, 3]


def test_a_facet_left_empty_is_not_a_close_call_because_its_low_scores_tie() -> None:
    # P0: no tag of the facet reaches the threshold (0.02 vs 0.01): the facet
    # stays empty, and only its best tag's distance to the threshold counts
    # (0.96). P1 is chosen at 0.7 (margin 0.4, runner-up 0.1 behind: gap 0.6).
    proba = np.array([[0.02, 0.01], [0.7, 0.1]])
    thresholds = np.full(2, 0.5)

    ranking = rank("margin_min", ctx(proba, thresholds, groups=[[0, 1]]), 2, rng())

    assert ranking.order.tolist() == [1, 0]


def test_label_counts_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(ValueError, match="label_counts"):
        rank("long_tail", ctx(label_counts=np.array([1, 2, 3])), 2, rng())


# -- modAL inside the queue -----------------------------------------------------------


def test_the_adapter_serves_threshold_scaled_scores_and_decisions_to_modal() -> None:
    proba = np.array([[0.2, 0.9, 0.05], [0.6, 0.3, 0.35]])
    thresholds = np.array([0.2, 0.5, 0.5])

    model = ThresholdScaledTagger(proba, thresholds, groups=[[1, 2]]).fit()

    # Tag 0's threshold 0.2 maps to 0.5; 0.6 is (0.6 - 0.2) / 0.8 of the way from 0.5 to 1.
    np.testing.assert_allclose(model.predict_proba([0, 1]), [[0.5, 0.9, 0.05], [0.75, 0.3, 0.35]])
    np.testing.assert_allclose(model.predict_proba([1]), threshold_scaled(proba[1:], thresholds))
    # The facet [1, 2] keeps only its best tag, and only at or above its threshold.
    assert model.predict([0, 1]).tolist() == [[1, 1, 0], [1, 0, 0]]
    assert model.classes_.tolist() == [0, 1, 2]


def test_modal_measures_over_the_decision_view_match_the_hand_computed_ones() -> None:
    # FIVE's margins, by hand: P0 (0, 0.8), P1 (0.45, 0.45), P2 (0.2, 0.96), P3 (0.8, 0.8),
    # P4 (0.38, 0.38); a decision's view is ((1 - m) / 2, (1 + m) / 2).
    view = query_scores.tagger(ctx()).decision_view()
    rows = view.all_rows()

    margin = classifier_margin(view, rows).reshape(5, 2)
    uncertainty = classifier_uncertainty(view, rows).reshape(5, 2)
    entropy = classifier_entropy(view, rows).reshape(5, 2)

    expected = np.array([[0, 0.8], [0.45, 0.45], [0.2, 0.96], [0.8, 0.8], [0.38, 0.38]])
    np.testing.assert_allclose(margin, expected, atol=1e-6)
    np.testing.assert_allclose(uncertainty, (1 - expected) / 2, atol=1e-6)
    p = (1 + expected) / 2
    np.testing.assert_allclose(
        entropy, -(p * np.log(p) + (1 - p) * np.log(np.clip(1 - p, 1e-12, 1))), atol=1e-6
    )


def test_the_closest_call_is_modals_min_confidence_over_the_decisions() -> None:
    confidence = query_scores.tagger(ctx()).confidence_view()
    index, lowest = min_confidence(confidence, np.arange(5), n_instances=5)
    by_row = dict(zip(index.tolist(), lowest.tolist(), strict=True))

    # (1 + smallest margin) / 2 per product; margin_min is minus that margin.
    assert by_row == pytest.approx({0: 0.5, 1: 0.725, 2: 0.6, 3: 0.9, 4: 0.69})
    np.testing.assert_allclose(
        query_scores.margin_min(ctx()), [0, -0.45, -0.2, -0.8, -0.38], atol=1e-6
    )


def test_product_level_measures_are_pinned_to_hand_computed_values() -> None:
    # 1 - product of confidences; mean margin; mean entropy in nats.
    np.testing.assert_allclose(
        query_scores.least_confidence(ctx()),
        [1 - 0.5 * 0.9, 1 - 0.725**2, 1 - 0.6 * 0.98, 1 - 0.9**2, 1 - 0.69**2],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        query_scores.margin_mean(ctx()), [-0.4, -0.45, -0.58, -0.8, -0.38], atol=1e-6
    )

    def h(p: float) -> float:
        return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))

    np.testing.assert_allclose(
        query_scores.mean_entropy(ctx()),
        [
            (h(0.5) + h(0.9)) / 2,
            h(0.725),
            (h(0.6) + h(0.98)) / 2,
            h(0.9),
            h(0.69),
        ],
        atol=1e-6,
    )


def test_ties_are_broken_by_the_callers_seed_and_the_global_rng_is_left_alone() -> None:
    ties = np.zeros(50)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()

    first = sorted_desc(ties, np.random.default_rng(7))
    second = sorted_desc(ties, np.random.default_rng(7))
    other = sorted_desc(ties, np.random.default_rng(8))

    assert first.tolist() == second.tolist()
    assert first.tolist() != other.tolist()
    assert sorted(first.tolist()) == list(range(50))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_sorted_desc_puts_the_highest_priority_first() -> None:
    assert sorted_desc(np.array([0.1, 0.9, 0.5]), rng()).tolist() == [1, 2, 0]
    assert sorted_desc(np.zeros(0), rng()).tolist() == []


def test_seeded_rankings_repeat() -> None:
    proba = np.random.default_rng(4).random((300, 5)).round(1)  # many ties
    embeddings = np.random.default_rng(5).random((300, 8))
    for name in ("margin_min", "diverse_rare_search", "ranked_batch", "density_margin"):
        context = ctx(proba, np.full(5, 0.5), embeddings=embeddings, label_counts=np.arange(5))
        first = rank(name, context, 20, np.random.default_rng(11), exploration_share=0.1)
        again = rank(name, context, 20, np.random.default_rng(11), exploration_share=0.1)
        assert first.order.tolist() == again.order.tolist(), name
        assert first.reason == again.reason, name


def two_clusters() -> tuple[np.ndarray, np.ndarray]:
    """Ten near-identical, very uncertain products (cluster A) and ten spread-out
    ones a little less uncertain (cluster B)."""
    uncertain = np.full((10, 1), 0.5) + np.linspace(0, 0.01, 10)[:, None]
    spread = np.full((10, 1), 0.6)
    a = np.zeros((10, 2)) + np.linspace(0, 0.01, 10)[:, None]
    b = np.array([[10.0 + i, 10.0 * (i % 2)] for i in range(10)])
    return np.vstack([uncertain, spread]), np.vstack([a, b])


def test_modals_ranked_batch_spreads_the_batch_over_both_clusters() -> None:
    proba, embeddings = two_clusters()

    top = rank("margin_min", ctx(proba, np.array([0.5]), embeddings=embeddings), 4, rng())
    ranked = rank("ranked_batch", ctx(proba, np.array([0.5]), embeddings=embeddings), 4, rng())

    assert all(i < 10 for i in top.order)
    assert any(i < 10 for i in ranked.order)
    assert sum(i >= 10 for i in ranked.order) >= 2


def test_information_density_puts_a_typical_close_call_before_an_outlier() -> None:
    # Equally uncertain: product 0 sits among the others, product 1 far away.
    proba = np.array([[0.5], [0.5], [0.9], [0.9], [0.9]])
    embeddings = np.array([[1.0, 0.0], [-1.0, 0.05], [1.0, 0.1], [1.0, -0.1], [0.9, 0.0]])

    ranking = rank("density_margin", ctx(proba, np.array([0.5]), embeddings=embeddings), 2, rng())

    assert ranking.order.tolist()[0] == 0


def test_the_rare_tag_search_counts_expected_positives_of_open_tags() -> None:
    # 2 products labeled, 3 not. Tags: 0 has 9 positives (closed); 1 has 2, open and
    # within reach (2 x 5 / 2 = 5); 2 has 1, out of reach (1 x 5 / 2 = 2.5 < 5); 3 none
    # yet (half weight).
    proba = np.array([[0.9, 0.2, 0.9, 0.0], [0.1, 0.6, 0.0, 0.0], [0.0, 0.1, 0.0, 0.2]])
    names = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1]], dtype=np.float32)
    counts = np.array([9, 2, 1, 0])
    context = ctx(proba, np.full(4, 0.5), label_counts=counts, name_votes=names, n_labeled=2)

    search = query_scores.rare_search(context)

    # P0: 0.2 (tag 1); P1: 0.6; P2: min(1, 0.1 + 1) + 0.5 * min(1, 0.2 + 1) = 1.5.
    np.testing.assert_allclose(search, [0.2, 0.6, 1.5])
    assert rank("rare_search", context, 3, rng()).order.tolist() == [2, 1, 0]


def test_the_default_is_the_varied_long_tail_blend() -> None:
    assert STRATEGIES["default"].name == "diverse_long_tail"
    assert STRATEGIES["default"].diverse


def test_diverse_rare_search_gives_a_quarter_of_the_batch_to_the_rare_tag_search() -> None:
    proba = np.random.default_rng(8).random((200, 6))
    counts = np.array([50, 40, 3, 2, 1, 0])
    embeddings = np.random.default_rng(9).random((200, 4))
    context = ctx(proba, np.full(6, 0.5), label_counts=counts, embeddings=embeddings)

    ranking = rank("diverse_rare_search", context, 20, rng())

    assert len(set(ranking.order.tolist())) == 20
    assert ranking.reason.count(RARE_TAG) == round(RARE_SHARE * 20)
    assert ranking.reason.count(UNCERTAIN) == 20 - round(RARE_SHARE * 20)
    # The rare-tag picks are spread through the batch, not all at its end.
    assert RARE_TAG in ranking.reason[:10]
