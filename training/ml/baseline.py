"""The reference baseline of ../shared/data/README.md: TF-IDF word 1-2-grams
(character 1-3-grams when the text is mostly Chinese) and one-vs-rest logistic
regression (C=10), tags selected at probability 0.3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .metrics import binarize
from .text import detect_language

THRESHOLD = 0.3


class Baseline:
    # vectorizer and classifier are fitted scikit-learn estimators (untyped);
    # classifier is None when no tag had anything to learn.
    def __init__(self, vectorizer: Any, classifier: Any, columns: np.ndarray, n_tags: int) -> None:
        self.vectorizer = vectorizer
        self.classifier = classifier
        self.columns = columns  # the tag columns that had a positive and a negative
        self.n_tags = n_tags
        self.constant = np.zeros(n_tags, dtype=np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        proba = np.tile(self.constant, (len(texts), 1))
        if self.classifier is not None and len(texts):
            X = self.vectorizer.transform(list(texts))
            scores = self.classifier.predict_proba(X)
            # A lone column is fitted as a plain binary problem: (n, 2) probabilities.
            proba[:, self.columns] = scores[:, 1:] if len(self.columns) == 1 else scores
        return proba

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts) >= THRESHOLD


def mostly_chinese(texts: Sequence[str]) -> bool:
    sample = list(texts[:2000])
    return bool(sample) and sum(detect_language(t) == "zh" for t in sample) / len(sample) >= 0.5


def train_baseline(
    texts: Sequence[str], labels: Sequence[Sequence[str]], tag_vocab: Sequence[str]
) -> Baseline:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    texts = list(texts)
    Y = binarize(labels, tag_vocab)
    if mostly_chinese(texts):
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    else:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    X = vectorizer.fit_transform(texts)
    positives = Y.sum(axis=0)
    # A tag on every product or on none has nothing to learn: it keeps its constant.
    columns = np.flatnonzero((positives > 0) & (positives < len(texts)))
    classifier = None
    if len(columns) == 1:
        classifier = LogisticRegression(C=10, max_iter=1000).fit(X, Y[:, columns[0]])
    elif len(columns):
        classifier = OneVsRestClassifier(LogisticRegression(C=10, max_iter=1000))
        classifier.fit(X, Y[:, columns])
    baseline = Baseline(vectorizer, classifier, columns, len(tag_vocab))
    baseline.constant = (positives == len(texts)).astype(np.float32)
    return baseline
