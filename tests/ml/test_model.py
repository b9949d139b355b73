"""Head-mode training, decisions, evidence and artifacts on a tiny BERT."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.ml.conftest import toy_products
from training.ml.data import Example, tag_specs_from_examples
from training.ml.fitting import _HeadFitting, head_members, kfold_indices, tuning_folds
from training.ml.head import HeadConfig, HeadLayout
from training.ml.metrics import binarize
from training.ml.model import TaggerModel, TrainConfig, train_tagger
from training.ml.scorers import HeadScorer
from training.ml.types import Cancelled, TagSpec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST_HEAD = HeadConfig(hidden=32, max_epochs=12, patience=3, batch_size=32, lr=1e-2, lex_lr=5e-2)


def _specs(texts: list[str], labels: list[list[str]]) -> list[TagSpec]:
    return tag_specs_from_examples(
        [Example(str(i), t, tags) for i, (t, tags) in enumerate(zip(texts, labels, strict=True))]
    )


@pytest.fixture(scope="module")
def toy() -> tuple[list[str], list[list[str]], list[TagSpec]]:
    texts, labels = toy_products(160, seed=1)
    return texts, labels, _specs(texts, labels)


@pytest.fixture(scope="module")
def trained(
    tiny_bert: str,
    toy: tuple[list[str], list[list[str]], list[TagSpec]],
    tmp_path_factory: pytest.TempPathFactory,
) -> TaggerModel:
    import torch

    torch.set_num_threads(1)
    texts, labels, specs = toy
    config = TrainConfig(
        base_model=tiny_bert, head=FAST_HEAD, cache_dir=tmp_path_factory.mktemp("cache")
    )
    return train_tagger(texts, labels, specs, config)


def test_it_learns_the_toy_problem(trained: TaggerModel) -> None:
    texts, labels = toy_products(40, seed=99)

    selected = trained.decide(trained.predict_proba(texts))

    vocab = trained.tag_vocab
    hits = sum(
        set(np.array(vocab)[row].tolist()) == set(tags)
        for row, tags in zip(selected, labels, strict=True)
    )
    assert hits >= 30


def test_a_saved_model_loads_with_identical_predictions(
    trained: TaggerModel, tmp_path: Path
) -> None:
    texts, _ = toy_products(20, seed=5)

    trained.save(tmp_path / "model")
    loaded = TaggerModel.load(tmp_path / "model")

    assert loaded.tag_vocab == trained.tag_vocab
    np.testing.assert_array_equal(loaded.thresholds, trained.thresholds)
    np.testing.assert_array_equal(loaded.predict_proba(texts), trained.predict_proba(texts))
    assert loaded.fingerprint == trained.fingerprint


def test_the_artifact_holds_json_and_safetensors_only(trained: TaggerModel, tmp_path: Path) -> None:
    trained.metrics = {"micro_f1": 0.9}
    trained.save(tmp_path / "model")

    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    config = json.loads((tmp_path / "model" / "config.json").read_text())

    assert all(n.endswith((".json", ".safetensors")) or n == "fingerprint" for n in names)
    assert "metrics.json" in names
    assert config["mode"] == "head"
    assert config["seed"] == 0
    assert "torch" in config["versions"]


def test_saving_over_an_existing_artifact_replaces_it_whole(
    trained: TaggerModel, tmp_path: Path
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")

    trained.save(target)

    assert not (target / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_single_valued_facet_gets_at_most_one_tag(trained: TaggerModel) -> None:
    # "red blue" names two colours; colour is single-valued in the data
    predictions = trained.predict(["red blue silk dress"], min_score=0.0)[0]

    colors = [p for p in predictions if p.tag.startswith("color:") and p.selected]
    assert len(colors) <= 1
    assert predictions == sorted(predictions, key=lambda p: -p.score)


def test_evidence_points_at_the_words_behind_a_tag(trained: TaggerModel) -> None:
    text = "new wool jacket printed"

    predictions = {p.tag: p for p in trained.predict([text])[0]}

    wool = predictions["material:Wool"]
    assert wool.selected
    assert text.index("wool") in [start for start, _ in wool.evidence]
    assert all(text[s:e] == "wool" for s, e in wool.evidence)
    jacket = predictions["type:Jacket"]
    assert "jacket" in [text[s:e] for s, e in jacket.evidence]


def test_the_fingerprint_ignores_order(
    tiny_bert: str, toy: tuple[list[str], list[list[str]], list[TagSpec]]
) -> None:
    from training.ml.artifacts import training_fingerprint

    texts, labels, _ = toy

    forward = training_fingerprint(texts, labels)
    backward = training_fingerprint(texts[::-1], labels[::-1])

    assert forward == backward
    assert forward != training_fingerprint(texts[1:], labels[1:])


def test_training_reports_progress_and_can_be_cancelled(
    tiny_bert: str, toy: tuple[list[str], list[list[str]], list[TagSpec]]
) -> None:
    texts, labels, specs = toy
    seen: list[float] = []

    def stop() -> bool:
        return len(seen) > 2

    with pytest.raises(Cancelled):
        train_tagger(
            texts,
            labels,
            specs,
            TrainConfig(base_model=tiny_bert, head=FAST_HEAD),
            progress=lambda fraction, stage: seen.append(fraction),
            should_stop=stop,
        )
    assert seen == sorted(seen)


def test_it_refuses_mismatched_inputs(tiny_bert: str) -> None:
    with pytest.raises(ValueError, match="label lists"):
        train_tagger(["a"], [], [TagSpec.from_key("x:y")], TrainConfig(base_model=tiny_bert))


def test_shown_scores_against_the_shown_thresholds_are_the_models_decision(
    trained: TaggerModel,
) -> None:
    # Issue #17: scores are calibrated, and thresholds live on the same scale, so a
    # reviewer comparing a tag's score with its threshold sees what the model did.
    texts, _ = toy_products(30, seed=11)
    assert trained.calibration is not None
    threshold = dict(zip(trained.tag_vocab, trained.thresholds.tolist(), strict=True))
    facet_of = {t.key: t.facet for t in trained.tags}
    single = {t.facet for t in trained.tags if t.single_valued}

    for predictions in trained.predict(texts, min_score=0.0):
        for p in predictions:
            above = p.score >= threshold[p.tag]
            if facet_of[p.tag] not in single:
                assert p.selected == above
            else:
                best = max(q.score for q in predictions if facet_of[q.tag] == facet_of[p.tag])
                assert p.selected == (above and p.score == best)
    shown = np.array([[p.score for p in sorted(ps, key=lambda p: p.tag)] for ps in
                      trained.predict(texts, min_score=0.0)])  # fmt: skip
    np.testing.assert_allclose(shown, trained.predict_proba(texts), rtol=0, atol=1e-7)


def test_the_legacy_config_keeps_raw_scores(
    tiny_bert: str, toy: tuple[list[str], list[list[str]], list[TagSpec]]
) -> None:
    texts, labels, specs = toy
    config = TrainConfig(base_model=tiny_bert, head=FAST_HEAD, refit=False).legacy()

    model = train_tagger(texts, labels, specs, config)

    assert model.calibration is None
    assert model.info["calibrated"] is False


def test_every_selected_tag_has_evidence(trained: TaggerModel) -> None:
    # Issue #17: a tag carried by the sentence embedding used to get no evidence.
    from training.ml.evidence import WHOLE_TEXT

    text = "new wool jacket printed"
    for whole_model in (False, True):
        predictions = trained.predict([text], whole_model_evidence=whole_model)[0]
        for p in (p for p in predictions if p.selected):
            assert p.evidence
            assert all(0 <= s < e <= len(text) for s, e in p.evidence) or p.evidence == [WHOLE_TEXT]


def test_small_training_sets_tune_on_cross_fitted_scores(trained: TaggerModel) -> None:
    # 160 products: every one is scored once by heads fitted without it, and the
    # thresholds are tuned on all of them (fitting.tuning_folds).
    assert trained.info["tuning_folds"] == 5
    assert trained.info["refit"] is True
    assert all(e >= 1 for e in trained.info["epochs"])


@pytest.mark.parametrize(
    ("setting", "n", "expected"),
    [(None, 160, 5), (None, 5000, 5), (None, 5001, 0), (0, 160, 0), (3, 160, 3), (3, 2, 0)],
)
def test_tuning_folds_follow_the_setting_and_the_data_size(
    setting: int | None, n: int, expected: int
) -> None:
    assert tuning_folds(TrainConfig(tuning_folds=setting), n) == expected


def test_cross_fitted_scores_come_from_heads_that_never_saw_the_product(
    tiny_bert: str, toy: tuple[list[str], list[list[str]], list[TagSpec]]
) -> None:
    texts, labels, specs = toy
    Y = binarize(labels, [t.key for t in specs])
    rng = np.random.default_rng(0)
    E = rng.normal(size=(len(texts), 8)).astype(np.float32)
    layout = HeadLayout.from_labels([t.facet for t in specs], [t.single_valued for t in specs], Y)
    config = TrainConfig(base_model=tiny_bert, head=FAST_HEAD)
    fitting = _HeadFitting(texts, E, Y, layout, head_members(config), config, None, None)
    # A product the folds never hold out cannot exist: every row is filled once.
    proba, vote, epochs = fitting.cross_fitted(tiny_bert, 4, True, (0.0, 1.0))
    assert proba.shape == vote.shape == Y.shape
    assert (proba.sum(axis=1) > 0).all()
    assert (vote.sum(axis=1) > 0).all()
    assert len(epochs) == len(head_members(config))

    # Each fold's scores are what a fit on the other folds alone gives.
    rest, held = kfold_indices(len(texts), 4, config.seed)[0]
    lexical, heads, X = fitting.fit(rest, held, None, (0.0, 1.0))
    alone = HeadScorer(tiny_bert, lexical, heads).proba_from_features(E[held], X[held])
    np.testing.assert_allclose(proba[held], alone, rtol=0, atol=1e-5)
