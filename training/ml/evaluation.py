"""Holdout and k-fold evaluation of the tagger against the in-run baseline."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .baseline import train_baseline
from .data import Example, tag_specs_from_examples
from .embeddings import CacheLocation
from .encoder import encoder_label
from .evidence import alias_spans
from .fitting import kfold_indices
from .metrics import binarize, calibration_error, multilabel_metrics, reliability
from .model import TrainConfig, build_zero_shot, train_tagger
from .types import ProgressFn, report

logger = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "micro_f1",
    "macro_f1",
    "micro_precision",
    "micro_recall",
    "macro_precision",
    "macro_recall",
    "coverage",
)


def holdout_split(
    examples: Sequence[Example], train_fraction: float = 0.8, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """random.Random(seed).shuffle of the examples, then the first train_fraction
    for training: the split of the reference figures in ../shared/data/README.md."""
    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * train_fraction)
    return shuffled[:cut], shuffled[cut:]


def holdout_predictions(
    train: Sequence[Example],
    test: Sequence[Example],
    config: TrainConfig,
    with_baseline: bool = False,
    progress: ProgressFn | None = None,
) -> dict:
    """Train on `train`, predict `test`: {vocab (the training tags, the columns),
    proba, pred (boolean, the model's decisions), train_seconds, predict_seconds,
    info}, and baseline_pred and baseline_seconds with the baseline."""
    tags = tag_specs_from_examples(train)
    vocab = [t.key for t in tags]
    started = time.monotonic()
    model = train_tagger(
        [e.text for e in train],
        [e.tags for e in train],
        tags,
        config,
        progress=lambda f, s: report(progress, 0.7 * f, s),
    )
    trained = time.monotonic()
    report(progress, 0.7, "predicting")
    proba = model.predict_proba([e.text for e in test])
    pred = model.decide(proba)
    done = time.monotonic()
    result = {
        "vocab": vocab,
        "proba": proba,
        "pred": pred,
        "train_seconds": trained - started,
        "predict_seconds": done - trained,
        "info": model.info,
    }
    if with_baseline:
        report(progress, 0.8, "training the baseline")
        baseline = train_baseline([e.text for e in train], [e.tags for e in train], vocab)
        result["baseline_pred"] = baseline.predict([e.text for e in test])
        result["baseline_seconds"] = time.monotonic() - done
    report(progress, 1.0, "evaluated")
    return result


def widen(pred: np.ndarray, vocab: Sequence[str], full_vocab: Sequence[str]) -> np.ndarray:
    """(n, len(vocab)) boolean decisions as columns of full_vocab (a superset of
    vocab, e.g. with the test set's tags the training set lacks: never predicted)."""
    index = {t: j for j, t in enumerate(full_vocab)}
    out = np.zeros((len(pred), len(full_vocab)), dtype=bool)
    out[:, [index[t] for t in vocab]] = pred
    return out


def score_reliability(proba: np.ndarray, selected: np.ndarray, truth: np.ndarray) -> dict:
    """How far the scores shown can be trusted: expected calibration error and
    observed precision per score bin (metrics.reliability) of the selected
    (product, tag) pairs and of every pair shown to a reviewer (score >= 0.05),
    and the tags selected per product."""
    proba = np.asarray(proba)
    truth = np.asarray(truth, dtype=bool)
    shown = proba >= 0.05
    return {
        "ece_selected": calibration_error(proba[selected], truth[selected]),
        "ece_shown": calibration_error(proba[shown], truth[shown]),
        "reliability_selected": reliability(proba[selected], truth[selected]),
        "reliability_shown": reliability(proba[shown], truth[shown]),
        "tags_per_product": float(selected.sum() / max(len(selected), 1)),
    }


def evaluate_holdout(
    train: Sequence[Example],
    test: Sequence[Example],
    config: TrainConfig,
    with_baseline: bool = True,
    progress: ProgressFn | None = None,
) -> dict:
    """Metrics (see metrics.multilabel_metrics) of a tagger trained on `train` and
    tested on `test`, with the baseline trained and tested the same way.

    Test tags that never occur in `train` stay in the evaluation as misses: the
    model cannot predict them, and hiding them would flatter a long tail."""
    run = holdout_predictions(train, test, config, with_baseline, progress)
    full_vocab = sorted(set(run["vocab"]) | {t for e in test for t in e.tags})
    y_true = binarize([e.tags for e in test], full_vocab)
    result = multilabel_metrics(y_true, widen(run["pred"], run["vocab"], full_vocab), full_vocab)
    result.update(
        mode=config.mode,
        n_train=len(train),
        n_test=len(test),
        n_tags=len(run["vocab"]),
        train_seconds=round(run["train_seconds"], 2),
        predict_seconds=round(run["predict_seconds"], 2),
        seconds=round(run["train_seconds"] + run["predict_seconds"], 2),
        training=run["info"],
        scores=score_reliability(
            run["proba"], run["pred"], binarize([e.tags for e in test], run["vocab"])
        ),
    )
    if with_baseline:
        base = multilabel_metrics(
            y_true, widen(run["baseline_pred"], run["vocab"], full_vocab), full_vocab
        )
        result["baseline"] = {k: base[k] for k in (*SUMMARY_KEYS, "per_tag")}
        result["baseline"]["seconds"] = round(run["baseline_seconds"], 2)
    return result


def cross_validate(
    examples: Sequence[Example],
    k: int,
    config: TrainConfig,
    seed: int = 0,
    with_baseline: bool = True,
    progress: ProgressFn | None = None,
) -> dict:
    """k-fold cross-validation. Top-level metrics are computed on the pooled
    out-of-fold predictions (every example is predicted once, by the model that
    did not see it); `folds` holds each fold's own summary, `*_std` the spread."""
    examples = list(examples)
    splits = kfold_indices(len(examples), k, seed)
    full_vocab = sorted({t for e in examples for t in e.tags})
    y_true = binarize([e.tags for e in examples], full_vocab)
    pooled = np.zeros_like(y_true)
    pooled_base = np.zeros_like(y_true)
    folds = []
    seconds = base_seconds = 0.0
    for i, (train_idx, test_idx) in enumerate(splits):
        train = [examples[j] for j in train_idx]
        test = [examples[j] for j in test_idx]

        def fold_progress(fraction: float, stage: str, i: int = i) -> None:
            report(progress, (i + fraction) / k, f"fold {i + 1}/{k}: {stage}")

        run = holdout_predictions(train, test, config, with_baseline, fold_progress)
        pred = widen(run["pred"], run["vocab"], full_vocab)
        pooled[test_idx] = pred
        fold = multilabel_metrics(y_true[test_idx], pred, full_vocab)
        summary = {key: fold[key] for key in SUMMARY_KEYS}
        summary.update(n_train=len(train), n_test=len(test))
        seconds += run["train_seconds"] + run["predict_seconds"]
        if with_baseline:
            base_pred = widen(run["baseline_pred"], run["vocab"], full_vocab)
            pooled_base[test_idx] = base_pred
            base = multilabel_metrics(y_true[test_idx], base_pred, full_vocab)
            summary["baseline"] = {key: base[key] for key in SUMMARY_KEYS}
            base_seconds += run["baseline_seconds"]
        folds.append(summary)
    result = multilabel_metrics(y_true, pooled, full_vocab)
    for key in ("micro_f1", "macro_f1"):
        result[f"{key}_std"] = float(np.std([f[key] for f in folds]))
    result.update(
        mode=config.mode,
        folds=folds,
        k=k,
        seed=seed,
        n_train=int(np.mean([f["n_train"] for f in folds])),
        n_test=len(examples),
        seconds=round(seconds, 2),
    )
    if with_baseline:
        base = multilabel_metrics(y_true, pooled_base, full_vocab)
        result["baseline"] = {key: base[key] for key in (*SUMMARY_KEYS, "per_tag")}
        result["baseline"]["seconds"] = round(base_seconds, 2)
    return result


def evaluate_zero_shot(
    train: Sequence[Example],
    test: Sequence[Example],
    base_model: str | None = None,
    cache_dir: CacheLocation | None = None,
    use_labels: bool = True,
    calibration: dict | None = None,
) -> dict:
    """Metrics of the zero-shot model on `test`, its tags those of `train` with
    every facet multi-valued (a taxonomy as an import creates it), its encoder
    (unless base_model) the one the training texts' language gets; with
    use_labels, the training labels say which facets are single-valued (as
    imported tags would). Adds `names_only`: the metrics of selecting exactly the
    tags whose name or an alias the text spells out."""
    tags = [replace(t, single_valued=False) for t in tag_specs_from_examples(train)]
    vocab = [t.key for t in tags]
    labels = [e.tags for e in train] if use_labels else None
    model = build_zero_shot(
        tags, base_model=base_model, cache_dir=cache_dir, labels=labels,
        calibration=calibration, texts=[e.text for e in train],
    )  # fmt: skip
    texts = [e.text for e in test]
    proba = model.predict_proba(texts)
    pred = model.decide(proba)
    full_vocab = sorted(set(vocab) | {t for e in test for t in e.tags})
    y_true = binarize([e.tags for e in test], full_vocab)
    result = multilabel_metrics(y_true, widen(pred, vocab, full_vocab), full_vocab)
    result["scores"] = score_reliability(proba, pred, binarize([e.tags for e in test], vocab))
    named = np.array([[bool(alias_spans(text, tag)) for tag in tags] for text in texts])
    names = multilabel_metrics(y_true, widen(named, vocab, full_vocab), full_vocab)
    result["names_only"] = {k: names[k] for k in SUMMARY_KEYS}
    result["names_only"]["tags_per_product"] = float(named.sum() / max(len(named), 1))
    result["true_tags_per_product"] = float(np.mean([len(e.tags) for e in test]))
    result["encoder"] = encoder_label(model.base_model)
    return result
