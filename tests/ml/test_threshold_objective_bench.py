"""bench/threshold_objective.py: the recording of what thresholds tune on, the
merging of runs and the table (nothing here reads the shared data)."""

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from training.ml import fitting
from training.ml.fitting import TrainConfig
from training.ml.types import TagSpec

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("threshold_objective")
    finally:
        sys.path.remove(str(BENCH))


def run(mode: str, seed: int, weight: float, micro: float) -> dict:
    return {
        "mode": mode,
        "seed": seed,
        "weight": weight,
        "micro_f1": micro,
        "macro_f1": micro / 2,
        "micro_precision": 0.5,
        "micro_recall": 0.5,
        "seconds": 1.0,
        "encoder": "e5",
    }


def test_the_recording_keeps_what_tune_was_given_and_restores_it(bench: ModuleType) -> None:
    tags = [TagSpec.from_key("color:red"), TagSpec.from_key("color:blue")]
    proba = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)
    Y = np.array([[1, 0], [0, 1]])
    original = fitting.tune

    with bench.recording_tuning() as recorded:
        thresholds = fitting.tune(proba, Y, tags, TrainConfig())

    assert fitting.tune is original
    assert np.array_equal(recorded["proba"], proba)
    assert recorded["Y"].dtype == bool
    assert recorded["Y"].tolist() == [[True, False], [False, True]]
    assert recorded["tags"] == tags
    assert np.array_equal(thresholds, original(proba, Y, tags, TrainConfig()))


def test_a_new_run_replaces_the_same_one_and_keeps_the_others(bench: ModuleType) -> None:
    earlier = {
        "a": {
            "n_train": 8,
            "n_test": 2,
            "runs": [run("head", 0, 0.0, 0.5), run("full", 0, 0.0, 0.4)],
        },
        "b": {"n_train": 4, "n_test": 1, "runs": [run("head", 0, 0.0, 0.7)]},
    }
    new = {"a": {"n_train": 8, "n_test": 2, "runs": [run("head", 0, 0.0, 0.6)]}}

    out = bench.merged(earlier, new)

    assert sorted((r["mode"], r["micro_f1"]) for r in out["a"]["runs"]) == [
        ("full", 0.4),
        ("head", 0.6),
    ]
    assert out["b"] == earlier["b"]


def test_the_table_has_a_row_per_seed_and_a_mean_per_mode(bench: ModuleType) -> None:
    results = {
        "a": {
            "n_train": 8,
            "n_test": 2,
            "runs": [
                run("head", 0, 0.0, 0.5),
                run("head", 0, 0.1, 0.6),
                run("head", 1, 0.0, 0.7),
                run("head", 1, 0.1, 0.8),
            ],
        }
    }

    lines = bench.table(results, [0.0, 0.1]).splitlines()

    assert lines[0] == "| dataset | encoder | mode | seed | w = 0 | w = 0.1 |"
    assert lines[2].startswith("| a | e5 | head | 0 | 0.5000 / 0.2500 (P 0.500) | 0.6000")
    assert lines[4] == (
        "| a | e5 | head | **mean** | 0.6000 / 0.3000 (P 0.500) | 0.7000 / 0.3500 (P 0.500) |"
    )
