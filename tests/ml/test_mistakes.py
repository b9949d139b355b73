import numpy as np
import pytest

from training.ml.query.mistakes import (
    MIN_DECISIONS,
    Mistakes,
    detect,
    find_mistakes,
    flag_mistakes,
    out_of_fold_scores,
)


def facet_catalogue(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated clusters, one colour each (a single-valued facet of
    three tags, columns 0-2), plus a free tag (column 3) on the first cluster."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 3, size=n)
    centres = np.eye(3) * 4.0
    X = centres[colour] + rng.normal(scale=0.5, size=(n, 3))
    Y = np.zeros((n, 4), dtype=bool)
    Y[np.arange(n), colour] = True
    Y[:, 3] = colour == 0
    return X, Y


def test_out_of_fold_scores_never_see_their_own_label() -> None:
    # One product labeled against its cluster: a model that saw it could fit it;
    # the out-of-fold one still scores it like its neighbours.
    X, Y = facet_catalogue()
    Y[0, :3] = [False, False, False]
    Y[0, (np.flatnonzero(facet_catalogue()[1][0, :3])[0] + 1) % 3] = True

    scores = out_of_fold_scores(X, Y, seed=0)

    assert scores.shape == Y.shape
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0
    truth = np.flatnonzero(facet_catalogue()[1][0, :3])[0]
    assert scores[0, truth] > 0.7
    assert scores[0, :3].argmax() == truth


def test_cleanlab_finds_the_swapped_facet_values_most_confident_first() -> None:
    X, Y = facet_catalogue()
    noisy = Y.copy()
    swapped = [3, 50, 120, 200, 280]
    for r in swapped:
        value = int(np.flatnonzero(Y[r, :3])[0])
        noisy[r, :3] = False
        noisy[r, (value + 1) % 3] = True

    found = find_mistakes(noisy, out_of_fold_scores(X, noisy), groups=[[0, 1, 2]])

    flagged = set(zip(found.rows.tolist(), found.columns.tolist(), strict=True))
    for r in swapped:
        assert (r, int(np.flatnonzero(noisy[r, :3])[0])) in flagged
        expected = found.expected[found.rows == r]
        assert int(np.flatnonzero(Y[r, :3])[0]) in expected.tolist()
    assert found.approved[np.isin(found.columns, [0, 1, 2])].all()
    assert np.all(np.diff(found.quality) >= 0)  # lowest label quality first


def test_a_free_tag_left_off_is_found_as_not_approved() -> None:
    X, Y = facet_catalogue()
    noisy = Y.copy()
    dropped = np.flatnonzero(Y[:, 3])[:3]
    noisy[dropped, 3] = False

    scores = out_of_fold_scores(X, noisy)
    found = find_mistakes(noisy, scores, groups=[[0, 1, 2]])

    # Confident learning flags a missing tag only where its score clears the tag's
    # own confidence threshold (the mean score of its labeled products): the
    # surest of the three at least.
    free = found.columns == 3
    surest = int(dropped[scores[dropped, 3].argmax()])
    assert surest in found.rows[free].tolist()
    assert set(found.rows[free].tolist()) <= set(dropped.tolist())
    assert not found.approved[free].any()


def test_the_share_caps_the_flags_and_keeps_the_most_confident() -> None:
    found = Mistakes(
        rows=np.arange(6),
        columns=np.zeros(6, np.int64),
        approved=np.ones(6, bool),
        score=np.zeros(6),
        expected=np.ones(6, np.int64),
        expected_score=np.ones(6),
        quality=np.linspace(0.0, 0.5, 6),
        decisions=100,
    )

    assert flag_mistakes(found, 0.03).rows.tolist() == [0, 1, 2]
    assert len(flag_mistakes(found, 0.0)) == 0
    assert len(flag_mistakes(found, 1.0)) == 6
    with pytest.raises(ValueError, match="share"):
        flag_mistakes(found, 1.5)


def test_too_few_reviewed_products_flag_nothing() -> None:
    X, Y = facet_catalogue(n=MIN_DECISIONS - 1)

    assert len(detect(X, Y, [[0, 1, 2]])) == 0


def test_detection_repeats_with_the_same_seed() -> None:
    X, Y = facet_catalogue()
    noisy = Y.copy()
    noisy[[5, 6, 7], :3] = noisy[[5, 6, 7]][:, [1, 2, 0]]

    first = detect(X, noisy, [[0, 1, 2]], share=0.05, seed=3)
    again = detect(X, noisy, [[0, 1, 2]], share=0.05, seed=3)

    assert first.rows.tolist() == again.rows.tolist()
    assert first.columns.tolist() == again.columns.tolist()


def test_labels_and_scores_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        find_mistakes(np.zeros((60, 3), bool), np.zeros((60, 4)))
