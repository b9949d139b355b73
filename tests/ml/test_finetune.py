"""Full-mode fine-tuning, on a tiny BERT built here (no download, CPU)."""

import gzip
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from training.ml.finetune import (
    EarlyStopping,
    FineTuneConfig,
    FineTunedClassifier,
    LengthBucketBatchSampler,
    compute_pos_weight,
    finetune,
    initial_bias,
    micro_f1,
)
from training.ml.types import Cancelled

TAGS = ["red", "blue", "cotton"]
FILLERS = [
    "green",
    "black",
    "white",
    "silk",
    "wool",
    "denim",
    "linen",
    "shirt",
    "dress",
    "skirt",
    "jacket",
    "coat",
    "jeans",
    "top",
    "soft",
    "classic",
    "new",
    "summer",
    "winter",
    "slim",
    "fit",
    "women",
    "men",
    "kids",
    "casual",
    "formal",
    "party",
    "printed",
    "striped",
    "solid",
    "round",
    "neck",
    "sleeve",
    "long",
    "short",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Tiny, but it learns the toy problem in a few dozen steps.
TOY_CONFIG = {"lr": 3e-3, "head_lr": 1e-1, "batch_size": 8, "max_length": 32}
TOY_CONFIG.update(warmup_ratio=0.0, device="cpu", bf16=False)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """A model this small runs ~10x faster on one thread when the CPUs are busy:
    a second thread mostly waits at barriers."""
    import torch

    before = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAGGER_TORCH_THREADS", "1")  # what finetune() applies
        torch.set_num_threads(1)
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory = tmp_path_factory.mktemp("tiny-bert")
    vocab = SPECIALS + TAGS + FILLERS + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(directory)
    return str(directory)


def toy_data(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Each tag is exactly the presence of its word: a separable problem."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words = [tag for tag in TAGS if rng.random() < 0.4]
        words += rng.sample(FILLERS, rng.randint(1, 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
    Y = np.array([[tag in text.split() for tag in TAGS] for text in texts], dtype=np.float32)
    return texts, Y


@pytest.fixture(scope="module")
def toy() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    train_texts, Y_train = toy_data(48, seed=1)
    val_texts, Y_val = toy_data(32, seed=2)
    return train_texts, Y_train, val_texts, Y_val


@pytest.fixture(scope="module")
def trained(tiny_bert: str, toy: tuple) -> FineTunedClassifier:
    train_texts, Y_train, val_texts, Y_val = toy
    config = FineTuneConfig(epochs=10, patience=10, **TOY_CONFIG)
    return finetune(tiny_bert, train_texts, Y_train, val_texts, Y_val, config)


def test_importing_the_package_does_not_import_torch() -> None:
    code = (
        "import sys, training.ml.finetune, training.ml.finetune_cli; print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_pos_weight_grows_for_rarer_tags() -> None:
    # given: tag 0 on half the rows, tag 1 on a tenth, tag 2 on one row in 40
    Y = np.zeros((40, 3))
    Y[:20, 0] = 1
    Y[:4, 1] = 1
    Y[:1, 2] = 1
    # when
    weights = compute_pos_weight(Y, cap=100.0)
    # then: negatives / positives
    np.testing.assert_allclose(weights, [1.0, 9.0, 39.0])


def test_pos_weight_is_capped_and_never_below_one() -> None:
    Y = np.zeros((100, 3))
    Y[:90, 0] = 1  # common: ratio 1/9 would shrink its positives
    Y[:1, 1] = 1  # rare: ratio 99
    # tag 2 never occurs
    assert compute_pos_weight(Y, cap=20.0).tolist() == [1.0, 20.0, 1.0]


def test_initial_bias_is_the_best_constant_logit_for_the_weighted_loss() -> None:
    Y = np.zeros((10, 2))
    Y[:5, 0] = 1
    Y[:1, 1] = 1
    weights = np.array([1.0, 9.0], dtype=np.float32)  # balances tag 1 exactly
    np.testing.assert_allclose(initial_bias(Y, weights), [0.0, 0.0], atol=1e-6)
    # unweighted, sigmoid(bias) is the base rate
    bias = initial_bias(Y, np.ones(2, dtype=np.float32))
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), [0.5, 0.1], rtol=1e-5)


def test_micro_f1_counts_every_tag_decision() -> None:
    truth = np.array([[1, 0], [1, 1]])
    pred = np.array([[1, 1], [0, 1]])
    assert micro_f1(truth, pred) == pytest.approx(2 * 2 / (2 * 2 + 2))
    assert micro_f1(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0


def test_sampler_puts_similar_lengths_together() -> None:
    # given: 400 texts of lengths 1..100 in random order
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 101, size=400)
    sampler = LengthBucketBatchSampler(lengths, batch_size=16, seed=0, bucket_batches=25)
    # when
    batches = list(sampler)
    # then: the length spread inside a batch is far below that of random batches
    bucketed = np.mean([np.ptp(lengths[b]) for b in batches])
    random_batches = np.array_split(rng.permutation(400), 25)
    unbucketed = np.mean([np.ptp(lengths[b]) for b in random_batches])
    assert bucketed < unbucketed / 5


def test_sampler_yields_every_index_once_and_reshuffles_each_epoch() -> None:
    lengths = np.random.default_rng(1).integers(1, 50, size=103)
    sampler = LengthBucketBatchSampler(lengths, batch_size=10, seed=7, bucket_batches=3)
    sampler.set_epoch(1)
    first = list(sampler)
    sampler.set_epoch(2)
    second = list(sampler)

    assert sorted(i for batch in first for i in batch) == list(range(103))
    assert len(first) == len(sampler)
    assert first != second
    sampler.set_epoch(1)
    assert list(sampler) == first  # the seed and epoch fix the order


def test_sampler_without_shuffle_runs_longest_first() -> None:
    sampler = LengthBucketBatchSampler([3, 9, 1, 7, 5], batch_size=2, shuffle=False)
    assert list(sampler) == [[1, 3], [4, 0], [2]]
    assert len(sampler) == 3


def test_sampler_splits_batches_disjointly_and_evenly_between_ranks() -> None:
    lengths = np.random.default_rng(2).integers(1, 60, size=50)  # 7 batches for 2 ranks
    ranks = [
        LengthBucketBatchSampler(lengths, batch_size=8, seed=3, num_replicas=2, rank=rank)
        for rank in (0, 1)
    ]
    per_rank = [list(sampler) for sampler in ranks]

    assert len(per_rank[0]) == len(per_rank[1]) == len(ranks[0]) == 4
    batches = [tuple(batch) for rank_batches in per_rank for batch in rank_batches]
    seen = [i for batch in batches for i in batch]
    assert set(seen) == set(range(50))
    # Like DistributedSampler, it repeats just enough (here one batch) to even the ranks out.
    assert len(set(batches)) == 7
    assert len(seen) - len(set(seen)) == len(batches[-1])


def test_early_stopping_waits_patience_epochs_and_remembers_the_best() -> None:
    stopping = EarlyStopping(patience=2)
    decisions = [
        stopping.update(epoch, score) for epoch, score in enumerate([0.5, 0.7, 0.7, 0.6], 1)
    ]
    assert decisions == [False, False, False, True]
    assert (stopping.best_epoch, stopping.best_score) == (2, 0.7)


def test_it_learns_a_separable_toy_problem(trained: FineTunedClassifier, toy: tuple) -> None:
    _, _, val_texts, Y_val = toy
    proba = trained.predict_proba(val_texts)

    assert proba.shape == (32, 3)
    assert proba.dtype == np.float32
    assert micro_f1(Y_val, proba >= 0.5) >= 0.85
    assert [h["epoch"] for h in trained.history] == list(range(1, 11))
    assert trained.history[-1]["train_loss"] < trained.history[0]["train_loss"]
    assert set(trained.history[0]) == {"epoch", "train_loss", "val_micro_f1", "seconds"}


def test_embed_returns_unit_vectors_of_the_encoder_width(trained: FineTunedClassifier) -> None:
    vectors = trained.embed(["red cotton shirt", "blue jeans", ""])
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_save_then_load_gives_identical_predictions(
    trained: FineTunedClassifier, toy: tuple, tmp_path: Path
) -> None:
    _, _, val_texts, _ = toy
    trained.save(tmp_path / "artifact")
    loaded = FineTunedClassifier.load(tmp_path / "artifact", device="cpu")

    np.testing.assert_array_equal(loaded.predict_proba(val_texts), trained.predict_proba(val_texts))
    np.testing.assert_array_equal(loaded.embed(val_texts[:4]), trained.embed(val_texts[:4]))
    assert loaded.history == trained.history
    files = {p.name for p in (tmp_path / "artifact").rglob("*") if p.is_file()}
    assert {"head.safetensors", "model.safetensors", "finetune.json"} <= files
    assert not [name for name in files if name.endswith((".bin", ".pt", ".pkl"))]


def test_the_same_seed_gives_identical_weights(
    trained: FineTunedClassifier, tiny_bert: str, toy: tuple
) -> None:
    import torch

    train_texts, Y_train, val_texts, Y_val = toy
    config = FineTuneConfig(epochs=10, patience=10, **TOY_CONFIG)
    again = finetune(tiny_bert, train_texts, Y_train, val_texts, Y_val, config)

    ours, theirs = trained.network.state_dict(), again.network.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)
    np.testing.assert_array_equal(again.predict_proba(val_texts), trained.predict_proba(val_texts))


def test_early_stopping_stops_and_restores_the_best_epoch(tiny_bert: str, toy: tuple) -> None:
    # given: validation labels that contradict training, so learning makes
    # validation worse and the best epoch comes early
    train_texts, Y_train, val_texts, Y_val = toy
    config = FineTuneConfig(epochs=10, patience=2, **TOY_CONFIG)
    # when
    model = finetune(tiny_bert, train_texts, Y_train, val_texts, 1 - Y_val, config)
    # then
    scores = [h["val_micro_f1"] for h in model.history]
    assert len(scores) == model.best_epoch + 2 < 10
    assert scores[model.best_epoch - 1] == max(scores) > scores[-1]
    kept = micro_f1(1 - Y_val, model.predict_proba(val_texts) >= 0.5)
    assert kept == pytest.approx(max(scores))


def test_without_a_validation_set_it_runs_every_epoch(tiny_bert: str, toy: tuple) -> None:
    train_texts, Y_train, _, _ = toy
    config = FineTuneConfig(epochs=2, patience=0, **TOY_CONFIG)

    model = finetune(tiny_bert, train_texts, Y_train, [], np.zeros((0, 3)), config)

    assert [h["val_micro_f1"] for h in model.history] == [None, None]
    assert model.best_epoch == 2
    assert model.predict_proba([]).shape == (0, 3)


def test_should_stop_cancels_training_and_progress_names_epoch_and_step(
    tiny_bert: str, toy: tuple
) -> None:
    train_texts, Y_train, val_texts, Y_val = toy
    reports: list[tuple[float, str]] = []
    config = FineTuneConfig(epochs=3, **TOY_CONFIG)

    with pytest.raises(Cancelled):
        finetune(
            tiny_bert, train_texts, Y_train, val_texts, Y_val, config,
            progress=lambda fraction, stage: reports.append((fraction, stage)),
            should_stop=lambda: len(reports) >= 4,
        )  # fmt: skip

    stages = [stage for _, stage in reports]
    assert "epoch 1/3 step 1/6" in stages
    assert len(reports) == 4  # nothing ran after the stop was seen
    assert [f for f, _ in reports] == sorted(f for f, _ in reports)


def write_jsonl(path: Path, texts: list[str], Y: np.ndarray) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i, (text, row) in enumerate(zip(texts, Y, strict=True)):
            tags = [f"tag:{tag}" for tag, on in zip(TAGS, row, strict=True) if on]
            handle.write(json.dumps({"id": str(i), "title": text, "tags": tags}) + "\n")


def test_the_cli_trains_in_one_process_and_writes_a_loadable_artifact(
    tiny_bert: str, toy: tuple, tmp_path: Path
) -> None:
    from training.ml.finetune_cli import main

    train_texts, Y_train, val_texts, Y_val = toy
    write_jsonl(tmp_path / "train.jsonl.gz", train_texts, Y_train)
    write_jsonl(tmp_path / "val.jsonl.gz", val_texts, Y_val)
    args = ["--base-model", tiny_bert, "--train", str(tmp_path / "train.jsonl.gz")]
    args += ["--val", str(tmp_path / "val.jsonl.gz"), "--out", str(tmp_path / "out")]
    args += ["--epochs", "2", "--batch-size", "8", "--max-length", "32", "--device", "cpu"]
    args += ["--progress-file", str(tmp_path / "progress.json")]

    assert main(args) == 0

    tags = json.loads((tmp_path / "out" / "tags.json").read_text())
    assert tags == ["tag:blue", "tag:cotton", "tag:red"]
    model = FineTunedClassifier.load(tmp_path / "out", device="cpu")
    assert model.predict_proba(val_texts).shape == (32, 3)
    assert len(model.history) == 2
    assert json.loads((tmp_path / "progress.json").read_text()) == {
        "fraction": 1.0,
        "stage": "fine-tuned",
    }
    assert main(args) == 2  # never overwrites an artifact


def test_by_default_a_small_set_gets_a_schedule_long_enough_to_learn(
    tiny_bert: str, toy: tuple
) -> None:
    # Issue #17: a fixed 6 epochs gave a small set a few dozen steps; its learning
    # rate decayed to zero while validation F1 was still rising. By default the
    # schedule now spans enough steps (within max_epochs); early stopping ends it.
    train_texts, Y_train, val_texts, Y_val = toy
    config = FineTuneConfig(patience=100, **TOY_CONFIG)  # the default schedule

    model = finetune(tiny_bert, train_texts, Y_train, val_texts, Y_val, config)

    assert len(model.history) > 6
    steps_per_epoch = -(-len(train_texts) // TOY_CONFIG["batch_size"])
    assert len(model.history) == min(-(-config.min_steps // steps_per_epoch), config.max_epochs)


def test_the_planned_epochs_follow_the_data_size_unless_set() -> None:
    from training.ml.finetune.trainer import MIN_EPOCHS, planned_epochs

    auto = FineTuneConfig(min_steps=1000, max_epochs=30)

    assert planned_epochs(auto, 500) == MIN_EPOCHS  # a large set: 6 epochs are 3,000 steps
    assert planned_epochs(auto, 100) == 10
    assert planned_epochs(auto, 5) == 30
    assert planned_epochs(FineTuneConfig(epochs=2), 5) == 2


@pytest.mark.parametrize(
    ("bf16_kind", "configured", "expected"),
    [
        ("amx", "", True),
        ("avx512_bf16", "", True),
        (None, "", False),  # torch would emulate bfloat16: slower than fp32
        ("avx512_bf16", "fp32", False),  # the test suite's pin holds for fine-tuning too
        ("amx", "int8", False),
        (None, "bf16", True),
    ],
)
def test_fine_tuning_on_a_cpu_runs_bf16_where_the_frozen_encoder_does(
    monkeypatch: pytest.MonkeyPatch, bf16_kind: str | None, configured: str, expected: bool
) -> None:
    from training.ml import encoder
    from training.ml.finetune.classifier import resolve_bf16

    monkeypatch.setattr(encoder, "cpu_bf16_kind", lambda: bf16_kind)
    monkeypatch.setenv("TAGGER_ENCODER_PRECISION", configured)

    assert resolve_bf16(None, "cpu") is expected
    assert resolve_bf16(False, "cpu") is False  # a config's own choice wins
    assert resolve_bf16(True, "cpu") is True


@pytest.mark.parametrize(
    ("available", "supported", "configured", "expected"),
    [
        (True, True, "", True),
        (True, False, "", False),  # before Ampere
        (False, False, "", False),
        (True, True, "fp32", False),
    ],
)
def test_fine_tuning_on_cuda_runs_bf16_where_the_gpu_has_it(
    monkeypatch: pytest.MonkeyPatch,
    available: bool,
    supported: bool,
    configured: str,
    expected: bool,
) -> None:
    import torch

    from training.ml.finetune.classifier import resolve_bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    monkeypatch.setenv("TAGGER_ENCODER_PRECISION", configured)

    assert resolve_bf16(None, "cuda:0") is expected
