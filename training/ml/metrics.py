"""Multi-label evaluation metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts, each 0 where undefined."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, tag_vocab: Sequence[str]) -> dict:
    """Precision, recall and F1 of boolean (n_products, n_tags) predictions.

    - micro_*: pooled over every (product, tag) decision.
    - macro_*: the unweighted mean over every tag of tag_vocab, a tag's precision,
      recall or F1 counting 0 where it is undefined (no prediction, or no true
      occurrence); this is scikit-learn's average="macro" with zero_division=0, the
      convention of the reference figures in ../shared/data/README.md.
    - macro_f1_evaluable: the same mean over the tags that are present or predicted
      in this set only (a tag neither present nor predicted has no defined F1).
    - coverage: the share of tags present in y_true (support >= 1) that the model got
      right at least once (at least one true positive). It says how much of the
      taxonomy the model can produce at all, which micro-F1 hides in a long tail.
    - per_tag: {tag: {precision, recall, f1, support, predicted}} for the tags that
      are present or predicted.
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    if y_true.shape != y_pred.shape or y_true.shape[1] != len(tag_vocab):
        raise ValueError(
            f"shapes disagree: y_true {y_true.shape}, y_pred {y_pred.shape}, {len(tag_vocab)} tags"
        )
    tp = (y_true & y_pred).sum(axis=0).astype(float)
    fp = (~y_true & y_pred).sum(axis=0).astype(float)
    fn = (y_true & ~y_pred).sum(axis=0).astype(float)
    support = y_true.sum(axis=0)
    predicted = y_pred.sum(axis=0)

    micro_p, micro_r, micro_f1 = prf(tp.sum(), fp.sum(), fn.sum())
    scores = np.array([prf(tp[j], fp[j], fn[j]) for j in range(len(tag_vocab))]).reshape(-1, 3)
    evaluable = (support > 0) | (predicted > 0)
    per_tag = {
        tag: {
            "precision": float(scores[j, 0]),
            "recall": float(scores[j, 1]),
            "f1": float(scores[j, 2]),
            "support": int(support[j]),
            "predicted": int(predicted[j]),
        }
        for j, tag in enumerate(tag_vocab)
        if evaluable[j]
    }
    present = support > 0
    macro = scores.mean(axis=0) if len(tag_vocab) else np.zeros(3)
    return {
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "micro_f1": float(micro_f1),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "macro_f1_evaluable": float(scores[evaluable, 2].mean()) if evaluable.any() else 0.0,
        "coverage": float((tp[present] > 0).mean()) if present.any() else 0.0,
        "n_tags": len(tag_vocab),
        "n_tags_evaluable": int(evaluable.sum()),
        "per_tag": per_tag,
    }


def binarize(tag_lists: Sequence[Sequence[str]], tag_vocab: Sequence[str]) -> np.ndarray:
    """(n, T) bool matrix; tags outside tag_vocab are ignored."""
    index = {tag: j for j, tag in enumerate(tag_vocab)}
    y = np.zeros((len(tag_lists), len(tag_vocab)), dtype=bool)
    for i, tags in enumerate(tag_lists):
        for tag in tags:
            j = index.get(tag)
            if j is not None:
                y[i, j] = True
    return y


def reliability(
    scores: np.ndarray, truth: np.ndarray, bins: int = 10
) -> list[dict[str, float | int]]:
    """Observed precision per score bin: for bins [k / bins, (k + 1) / bins) (the
    last one closed), the number of (product, tag) pairs, their mean score and the
    share of them that are right. Empty bins are left out."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    truth = np.asarray(truth, dtype=bool).ravel()
    index = np.minimum((scores * bins).astype(np.int64), bins - 1)
    table: list[dict[str, float | int]] = []
    for k in range(bins):
        inside = index == k
        n = int(inside.sum())
        if n:
            table.append(
                {
                    "low": k / bins,
                    "high": (k + 1) / bins,
                    "n": n,
                    "mean_score": float(scores[inside].mean()),
                    "precision": float(truth[inside].mean()),
                }
            )
    return table


def calibration_error(scores: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the pair-weighted mean, over reliability bins,
    of |observed precision - mean score|; 0.0 for no pairs."""
    table = reliability(scores, truth, bins)
    total = sum(int(row["n"]) for row in table)
    if not total:
        return 0.0
    return float(
        sum(int(row["n"]) * abs(row["precision"] - row["mean_score"]) for row in table) / total
    )
