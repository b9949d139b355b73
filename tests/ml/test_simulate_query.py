"""The simulation with the modAL-based strategies: seeded runs repeat, and the
rare-tag search sees the tags' names in the pool's texts."""

from pathlib import Path

import pytest

from tests.ml.test_simulate import config, examples, without_timing
from training.ml.simulate import prepare, simulate


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("strategy", ["default", "diverse_rare_search", "ranked_batch"])
def test_a_seeded_simulation_repeats(tiny_bert: str, tmp_path: Path, strategy: str) -> None:
    cfg = config(tiny_bert, tmp_path, strategy=strategy, seed=5)
    data = prepare(examples(60, 7, "p"), examples(20, 8, "t"), cfg)

    first, second = simulate(data, cfg), simulate(data, cfg)

    assert without_timing(first["curve"]) == without_timing(second["curve"])
    assert first["labeled_ids"] == second["labeled_ids"]
    assert first["resolved_strategy"] == (
        "diverse_long_tail" if strategy == "default" else strategy
    )


@pytest.mark.usefixtures("one_torch_thread")
def test_the_pool_carries_the_tags_named_in_its_texts(tiny_bert: str, tmp_path: Path) -> None:
    cfg = config(tiny_bert, tmp_path)
    data = prepare(examples(30, 1, "p"), examples(10, 2, "t"), cfg)

    assert data.N_pool is not None
    assert data.N_pool.shape == data.Y_pool.shape
