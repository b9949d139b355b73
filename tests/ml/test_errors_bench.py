"""The per-facet error bench's counting, on a tiny hand-made split (no model: the
decisions are given)."""

import numpy as np
import pytest

from bench.errors import facet_errors, markdown
from training.ml.data import Example

VOCAB = ["color:Blue", "color:Red", "season:Summer", "season:Winter"]


def result() -> dict:
    train = [
        Example("a", "red shirt", ["color:Red", "season:Summer"]),
        Example("b", "blue cap", ["color:Blue", "season:Winter"]),
    ]
    test = [
        # The same text as a training product, with another season (one outside
        # the training tags, so it can only be missed).
        Example("c", "red shirt", ["color:Red", "season:Fall"]),
        # No season at all: any season decided is a false positive there.
        Example("d", "green hat", ["color:Green"]),
    ]
    pred = np.array([[False, True, True, False], [True, False, False, True]])
    return facet_errors(train, test, VOCAB, pred)


def test_counts_per_facet_and_in_total() -> None:
    r = result()
    facets = {f["facet"]: f for f in r["facets"]}

    assert (r["tp"], r["fp"], r["fn"]) == (1, 3, 2)
    assert r["micro_f1"] == pytest.approx(2 / 7)
    color, season = facets["color"], facets["season"]
    assert (color["support"], color["predicted"], color["fn"], color["fp"]) == (2, 2, 1, 1)
    assert (season["support"], season["predicted"], season["fn"], season["fp"]) == (1, 2, 1, 2)
    # The test's tags unseen in training count as columns too.
    assert color["tags"] == 3
    assert season["tags"] == 3
    assert season["error_share"] == pytest.approx(3 / 5)
    # The facet with most errors comes first.
    assert [f["facet"] for f in r["facets"]] == ["season", "color"]


def test_without_a_facet_its_true_tags_are_found_and_its_false_ones_gone() -> None:
    facets = {f["facet"]: f for f in result()["facets"]}

    assert facets["season"]["micro_f1_without"] == pytest.approx(4 / 6)  # tp 2, fp 1, fn 1
    assert facets["color"]["micro_f1_without"] == pytest.approx(4 / 7)  # tp 2, fp 2, fn 1


def test_false_positives_on_products_without_the_facet_and_conflicting_repeats() -> None:
    facets = {f["facet"]: f for f in result()["facets"]}

    assert facets["season"]["fp_facet_unlabelled"] == 1
    assert facets["color"]["fp_facet_unlabelled"] == 0
    assert facets["season"]["repeated_titles"] == facets["color"]["repeated_titles"] == 1
    assert facets["season"]["repeated_conflicting"] == 1
    assert facets["color"]["repeated_conflicting"] == 0


def test_the_section_names_each_set_and_the_command() -> None:
    r = result()
    r.update(encoder="all-MiniLM-L6-v2", n_train=2)

    text = markdown({"tiny": r}, ".venv/bin/python bench/errors.py", "a test machine")

    assert "### tiny (all-MiniLM-L6-v2, 2 train, 2 test, micro-F1 0.2857" in text
    assert (
        "| season | 3 | 1 | 2 | 0.000 | 0.000 | 0.000 | 1 | 2 | 60.0% | 0.6667 | 1 | 1 of 1 |"
        in text
    )
    assert "Command: `.venv/bin/python bench/errors.py`" in text
