"""The review-effort bench's replay and its target lines, on a tiny hand-made run
(no model: the scores are given)."""

import numpy as np
import pytest

from bench.review_effort import Scored, measure, target_lines
from training.ml.data import Example
from training.ml.review_policy import search_costs
from training.ml.types import TagSpec

TAGS = [
    TagSpec(key="color:Red", facet="color", name="Red", single_valued=True),
    TagSpec(key="color:Blue", facet="color", name="Blue", single_valued=True),
    TagSpec(key="fit:Slim", facet="fit", name="Slim"),
]


def run() -> dict:
    test = [
        Example("a", "a red shirt", ["color:Red", "fit:Slim"]),
        Example("b", "a blue shirt", ["color:Blue"]),
    ]
    proba = np.array([[0.95, 0.05, 0.9], [0.6, 0.4, 0.1]], dtype=np.float32)
    selected = np.array([[True, False, True], [True, False, False]])
    scored = Scored(TAGS, np.full(3, 0.5), proba, selected, zero_shot=False)
    costs = search_costs([(t.key, t.name) for t in TAGS])
    return measure(scored, test, costs, precision=0.9, sweep=[])


def test_the_replay_reports_both_policies_in_the_stable_shape() -> None:
    figures = run()

    for policy in ("old", "new"):
        for field in (
            "pretick_precision",
            "pretick_recall",
            "corrections_per_product",
            "keys_per_product",
            "one_key_share",
        ):
            assert field in figures[policy]
    # Old ticks red on b (wrong): b costs Blue's key and Enter; a is right (Enter).
    assert figures["old"]["pretick_precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["old"]["keys_per_product"] == (1 + 2) / 2
    assert figures["old"]["one_key_share"] == 0.5
    # New: the bar from both products' scores (0.95, 0.9, 0.6; mean 0.817 with
    # 0.6) is 0.9: red on b stays unticked; b still takes Blue's key and Enter.
    assert figures["new"]["bar"] == 0.9
    assert figures["new"]["pretick_precision"] == 1.0
    assert figures["new"]["keys_per_product"] == (1 + 2) / 2


def test_the_target_lines_say_met_or_missed() -> None:
    figures = run()
    report = {
        "data": "en_myntra_fashion_15k.jsonl.gz",
        "budgets": [
            {"labels": 0, **figures},
            {"labels": 1000, **figures},
        ],
    }

    lines = target_lines([report])

    assert any("0 labels, pre-tick precision ≥ 0.90: 1.000, met" in line for line in lines)
    assert any(
        "keys per product ≤ half of old: 1.50 vs 1.50 (1.00×), missed" in line for line in lines
    )
    assert any("one-key share ≥ 1.5× old: 0.500 vs 0.500 (1.00×), missed" in line for line in lines)
