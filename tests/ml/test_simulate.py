import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.ml.conftest import install_as_multilingual, toy_products
from training.ml import encoder
from training.ml.data import Example
from training.ml.simulate import SimulationConfig, prepare, simulate

POINT_KEYS = {"labels", "micro_f1", "macro_f1", "tags_with_1_positive", "tags_with_5_positives"}


def examples(n: int, seed: int, prefix: str) -> list[Example]:
    texts, labels = toy_products(n, seed)
    return [
        Example(id=f"{prefix}{i}", text=t, tags=tags)
        for i, (t, tags) in enumerate(zip(texts, labels, strict=True))
    ]


def config(tiny_bert: str, tmp_path: Path, **kw: object) -> SimulationConfig:
    defaults = {"initial": 10, "batch": 10, "rounds": 2, "base_model": tiny_bert}
    return SimulationConfig(cache_dir=tmp_path / "cache", **{**defaults, **kw})


def without_timing(curve: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "seconds"} for p in curve]


def write_jsonl_gz(path: Path, items: list[Example]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        for e in items:
            stream.write(json.dumps({"id": e.id, "title": e.text, "tags": e.tags}) + "\n")
    return path


@pytest.mark.usefixtures("one_torch_thread")
def test_it_records_one_point_per_model_with_growing_labels(tiny_bert: str, tmp_path: Path) -> None:
    # given
    cfg = config(tiny_bert, tmp_path, strategy="margin_min")
    data = prepare(examples(80, 1, "p"), examples(30, 2, "t"), cfg)

    # when
    result = simulate(data, cfg)

    # then
    curve = result["curve"]
    assert [p["labels"] for p in curve] == [10, 20, 30]
    assert all(p.keys() >= POINT_KEYS for p in curve)
    assert all(0.0 <= p["micro_f1"] <= 1.0 for p in curve)
    fives = [p["tags_with_5_positives"] for p in curve]
    assert fives == sorted(fives)  # revealing labels never loses a positive
    assert result["strategy"] == "margin_min"
    assert result["seed"] == 0


@pytest.mark.usefixtures("one_torch_thread")
def test_it_never_queries_a_product_twice(tiny_bert: str, tmp_path: Path) -> None:
    cfg = config(tiny_bert, tmp_path, strategy="diverse_long_tail", initial=5, batch=15)
    data = prepare(examples(40, 3, "p"), examples(10, 4, "t"), cfg)

    result = simulate(data, cfg)

    assert len(result["labeled_ids"]) == len(set(result["labeled_ids"])) == 35


@pytest.mark.usefixtures("one_torch_thread")
def test_it_stops_when_the_pool_is_exhausted(tiny_bert: str, tmp_path: Path) -> None:
    cfg = config(tiny_bert, tmp_path, strategy="random", initial=10, batch=10, rounds=5)
    data = prepare(examples(25, 5, "p"), examples(10, 6, "t"), cfg)

    result = simulate(data, cfg)

    assert [p["labels"] for p in result["curve"]] == [10, 20, 25]


@pytest.mark.usefixtures("one_torch_thread")
def test_the_same_seed_gives_the_same_curve(tiny_bert: str, tmp_path: Path) -> None:
    cfg = config(tiny_bert, tmp_path, strategy="entropy", seed=3)
    data = prepare(examples(60, 7, "p"), examples(20, 8, "t"), cfg)

    first, second = simulate(data, cfg), simulate(data, cfg)

    assert without_timing(first["curve"]) == without_timing(second["curve"])
    assert first["labeled_ids"] == second["labeled_ids"]


@pytest.mark.usefixtures("one_torch_thread")
def test_cold_start_picks_its_initial_set_from_distinct_products(
    tiny_bert: str, tmp_path: Path
) -> None:
    # Four distinct products, each listed five times: a random initial set of four
    # would very likely hold a repeat; the k-means representatives never do.
    distinct = [
        Example("a", "red", ["color:Red"]),
        Example("b", "blue silk", ["color:Blue"]),
        Example("c", "green wool jacket", ["color:Green"]),
        Example("d", "black denim slim jeans", ["color:Black"]),
    ]
    pool = [Example(f"{e.id}{k}", e.text, e.tags) for e in distinct for k in range(5)]
    cfg = config(tiny_bert, tmp_path, strategy="cold_start", initial=4, rounds=0)
    data = prepare(pool, distinct, cfg)

    result = simulate(data, cfg)

    assert {i[0] for i in result["labeled_ids"]} == {"a", "b", "c", "d"}


@pytest.mark.usefixtures("one_torch_thread")
def test_the_tagger_trainer_runs_the_production_path(tiny_bert: str, tmp_path: Path) -> None:
    cfg = config(tiny_bert, tmp_path, strategy="least_confidence", trainer="tagger", rounds=1)
    data = prepare(examples(40, 11, "p"), examples(10, 12, "t"), cfg)

    result = simulate(data, cfg)

    assert [p["labels"] for p in result["curve"]] == [10, 20]
    assert result["trainer"] == "tagger"


def test_a_chinese_pool_is_embedded_by_the_encoder_training_will_choose(
    tiny_bert: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    e5 = install_as_multilingual(tiny_bert, tmp_path / "encoders", monkeypatch)
    loaded: list[str] = []
    real = encoder.load_encoder
    monkeypatch.setattr(
        encoder, "load_encoder", lambda name, *a, **k: loaded.append(name) or real(name, *a, **k)
    )
    pool = [Example(str(i), f"真丝连衣裙 红色 {i}", ["material:Silk"]) for i in range(6)]

    prepare(pool[:4], pool[4:], SimulationConfig(trainer="fast"))

    assert loaded == [str(e5)]


def test_it_refuses_an_unknown_trainer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown trainer"):
        prepare(examples(5, 0, "p"), examples(5, 1, "t"), SimulationConfig(trainer="gpu"))


@pytest.mark.usefixtures("one_torch_thread")
def test_the_command_writes_the_curve_as_json(tiny_bert: str, tmp_path: Path) -> None:
    pool = write_jsonl_gz(tmp_path / "pool.jsonl.gz", examples(50, 13, "p"))
    test = write_jsonl_gz(tmp_path / "test.jsonl.gz", examples(15, 14, "t"))
    out = tmp_path / "out" / "sim.json"

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAGGER_BASE_MODEL", tiny_bert)
        call_command(
            "simulate_al",
            pool=pool,
            test=test,
            strategy="default",
            initial=10,
            batch=5,
            rounds=2,
            seed=4,
            cache_dir=tmp_path / "cache",
            json=out,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    result = json.loads(out.read_text())
    assert result["strategy"] == "default"
    assert result["seed"] == 4
    assert [p["labels"] for p in result["curve"]] == [10, 15, 20]


def test_the_command_refuses_a_missing_pool(tmp_path: Path) -> None:
    test = write_jsonl_gz(tmp_path / "test.jsonl.gz", examples(5, 15, "t"))

    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "simulate_al", pool=tmp_path / "nope.jsonl", test=test, json=tmp_path / "o.json"
        )


def test_the_command_refuses_an_unknown_strategy(tmp_path: Path) -> None:
    test = write_jsonl_gz(tmp_path / "test.jsonl.gz", examples(5, 16, "t"))

    with pytest.raises(CommandError, match="strategy"):
        call_command(
            "simulate_al", "--strategy", "bogus", "--pool", str(test), "--test", str(test),
            "--json", str(tmp_path / "o.json"),
        )  # fmt: skip
