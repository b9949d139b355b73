"""Active-learning simulation on a fully labeled pool: hide the labels, reveal them
only for the products a query strategy asks about, and measure how fast the tagger
improves on a held-out test set.

Two trainers:
- "fast" (the default): a linear model (regularised least squares, every tag in
  one solve) over the frozen sentence embedding and a 256-dimensional SVD of the
  TF-IDF channel, with train_tagger's validation split and per-tag threshold
  tuning. Embeddings come from the cache and the TF-IDF/SVD are fit once on the
  whole pool's text (text, never labels, so nothing leaks), so a round costs a few
  seconds on a CPU. Strategies are compared with each other under one trainer;
  bench/active_learning.py records its full-pool scores beside the curves.
- "tagger": train_tagger itself every round, then predict_proba on the unlabeled
  pool: exactly the production path, and far slower (the head's sparse lexical
  layer dominates), so meant for small pools.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .data import Example, tag_specs_from_examples
from .embeddings import CacheLocation
from .lexical import LexicalFeaturizer
from .metrics import binarize, multilabel_metrics
from .model import TrainConfig, facet_groups, lexical_config_for, split_validation, train_tagger
from .names import NameVote
from .query import QueryContext, rank, resolve
from .thresholds import decide, tune_thresholds
from .types import ProgressFn, TagSpec, report

logger = logging.getLogger(__name__)

TRAINERS = ("fast", "tagger")
SVD_DIMS = 256


@dataclass
class SimulationConfig:
    strategy: str = "default"
    initial: int = 100
    batch: int = 100
    rounds: int = 20
    seed: int = 0
    mode: str = "head"
    trainer: str = "fast"
    exploration_share: float = 0.0
    base_model: str | None = None
    cache_dir: CacheLocation | None = None  # embedding cache; None: embed in memory
    device: str | None = None
    val_fraction: float = 0.15
    ridge: float = 0.3  # L2 strength of the fast trainer (best of 0.1 / 0.3 / 1 on both sets)
    refit: bool = True  # as train_tagger: retrain on train + validation after tuning


@dataclass
class SimulationData:
    """Everything that does not change between rounds, strategies and seeds."""

    pool: list[Example]
    test: list[Example]
    tags: list[TagSpec]
    Y_pool: np.ndarray  # (n_pool, T) bool
    Y_test: np.ndarray  # (n_test, T) bool
    E_pool: np.ndarray  # (n_pool, d) embeddings, for batch diversity and the trainers
    E_test: np.ndarray
    F_pool: np.ndarray | None  # fast-trainer features; None for the "tagger" trainer
    F_test: np.ndarray | None
    # (n_pool, T) tags named in each pool text (names.NameVote), for the rare-tag search
    N_pool: np.ndarray | None = None

    @property
    def tag_vocab(self) -> list[str]:
        return [t.key for t in self.tags]


def prepare(
    pool: Sequence[Example],
    test: Sequence[Example],
    config: SimulationConfig,
    progress: ProgressFn | None = None,
) -> SimulationData:
    """Embed every text once (through the cache when there is one) and, for the fast
    trainer, build the TF-IDF features. The taxonomy is every tag of pool and test:
    in production it exists before the first label."""
    from .embeddings import EmbeddingCache
    from .encoder import default_base_model, load_encoder

    if config.mode != "head":
        raise ValueError(f"the simulation trains in head mode only, not {config.mode!r}")
    if config.trainer not in TRAINERS:
        raise ValueError(f"unknown trainer {config.trainer!r}; choose one of {TRAINERS}")
    pool, test = list(pool), list(test)
    tags = tag_specs_from_examples(pool + test)
    vocab = [t.key for t in tags]
    texts = [e.text for e in pool + test]
    # The encoder train_tagger will choose for these texts (by their language).
    encoder = load_encoder(config.base_model or default_base_model(texts), config.device)
    if config.cache_dir is not None:
        E = EmbeddingCache(config.cache_dir).embed(encoder, texts, progress=progress)
    else:
        E = encoder.embed(texts, progress=progress)
    F = None
    if config.trainer == "fast":
        report(progress, 1.0, "lexical features")
        F = fast_features([e.text for e in pool], texts, E)
    return SimulationData(
        pool=pool,
        test=test,
        tags=tags,
        Y_pool=binarize([e.tags for e in pool], vocab),
        Y_test=binarize([e.tags for e in test], vocab),
        E_pool=E[: len(pool)],
        E_test=E[len(pool) :],
        F_pool=None if F is None else F[: len(pool)],
        F_test=None if F is None else F[len(pool) :],
        N_pool=NameVote.from_tags(tags, facet_groups(tags)).matrix([e.text for e in pool]),
    )


def fast_features(fit_texts: Sequence[str], texts: Sequence[str], E: np.ndarray) -> np.ndarray:
    """[SVD of TF-IDF (unit rows) | embedding | 1]: dense and small, so the linear
    model below fits every tag at once in a fraction of a second."""
    from sklearn.decomposition import TruncatedSVD

    lexical = LexicalFeaturizer(lexical_config_for(fit_texts)).fit(fit_texts)
    X = lexical.transform(texts)
    dims = max(1, min(SVD_DIMS, X.shape[1] - 1, len(fit_texts) - 1))
    Z = TruncatedSVD(dims, random_state=0).fit(X[: len(fit_texts)]).transform(X)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True) + 1e-9
    return np.hstack([Z, E, np.ones((len(E), 1))]).astype(np.float32)


class LinearTagger:
    """Regularised least squares onto the 0/1 tag matrix, all tags in one solve
    (a 641 x 641 system on the MiniLM features), scores clipped to [0, 1]. Per-tag
    thresholds tuned on validation data turn these scores into decisions as well as
    a logistic regression's: on these catalogues its full-pool micro-F1 matches the
    TF-IDF + logistic-regression reference of ../shared/data/README.md, at a
    fraction of a second per fit. The last feature column is the unpenalised bias."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    @classmethod
    def fit(cls, F: np.ndarray, Y: np.ndarray, ridge: float) -> LinearTagger:
        F64 = F.astype(np.float64)
        gram = F64.T @ F64
        penalty = np.full(F.shape[1], ridge)
        penalty[-1] = 0.0
        gram[np.diag_indices_from(gram)] += penalty
        weights = np.linalg.solve(gram, F64.T @ Y.astype(np.float64))
        return cls(weights.astype(np.float32))

    def predict_proba(self, F: np.ndarray) -> np.ndarray:
        return np.clip(F @ self.weights, 0.0, 1.0)


def _fit_fast(
    data: SimulationData, labeled: np.ndarray, config: SimulationConfig, seed: int
) -> tuple[LinearTagger, np.ndarray]:
    """As train_tagger: fit on a validation split, tune per-tag thresholds there,
    then refit on every labeled product."""
    assert data.F_pool is not None, "data for the fast trainer has features"
    F, Y = data.F_pool[labeled], data.Y_pool[labeled]
    tr, va = split_validation(len(labeled), config.val_fraction, seed)
    model = LinearTagger.fit(F[tr], Y[tr], config.ridge)
    thresholds = np.full(len(data.tags), 0.5, dtype=np.float32)
    if len(va):
        thresholds = tune_thresholds(model.predict_proba(F[va]), Y[va], facet_groups(data.tags))
        if config.refit:
            model = LinearTagger.fit(F, Y, config.ridge)
    return model, thresholds


class _Round:
    """One trained model of the simulation: scores for any pool rows and the test set."""

    def __init__(
        self, data: SimulationData, labeled: np.ndarray, config: SimulationConfig, seed: int
    ) -> None:
        self.data = data
        if config.trainer == "fast":
            self.linear, self.thresholds = _fit_fast(data, labeled, config, seed)
            self.model = None
        else:
            self.model = train_tagger(
                [data.pool[i].text for i in labeled],
                [data.pool[i].tags for i in labeled],
                data.tags,
                TrainConfig(
                    mode="head",
                    seed=seed,
                    val_fraction=config.val_fraction,
                    base_model=config.base_model,
                    cache_dir=config.cache_dir,
                    device=config.device,
                    refit=config.refit,
                ),
            )
            self.thresholds = self.model.thresholds

    def pool_proba(self, rows: np.ndarray) -> np.ndarray:
        if self.model is not None:
            return self.model.predict_proba([self.data.pool[i].text for i in rows])
        assert self.data.F_pool is not None, "data for the fast trainer has features"
        return self.linear.predict_proba(self.data.F_pool[rows])

    def test_decisions(self) -> np.ndarray:
        if self.model is not None:
            return self.model.decide(self.model.predict_proba([e.text for e in self.data.test]))
        assert self.data.F_test is not None, "data for the fast trainer has features"
        proba = self.linear.predict_proba(self.data.F_test)
        return decide(proba, self.thresholds, facet_groups(self.data.tags))


def evaluate_round(data: SimulationData, model: _Round, labeled: np.ndarray) -> dict:
    metrics = multilabel_metrics(data.Y_test, model.test_decisions(), data.tag_vocab)
    counts = data.Y_pool[labeled].sum(axis=0)
    return {
        "labels": len(labeled),
        "micro_f1": round(float(metrics["micro_f1"]), 4),
        "macro_f1": round(float(metrics["macro_f1"]), 4),
        "tags_with_1_positive": int((counts >= 1).sum()),
        "tags_with_5_positives": int((counts >= 5).sum()),
    }


def initial_labels(
    data: SimulationData, config: SimulationConfig, rng: np.random.Generator
) -> np.ndarray:
    """The products labeled before the first model: random, or the k-means
    representatives of the pool for the cold_start strategy."""
    n = min(config.initial, len(data.pool))
    if resolve(config.strategy).name == "cold_start":
        return rank("cold_start", QueryContext.cold(data.E_pool), n, rng).order
    return rng.choice(len(data.pool), size=n, replace=False)


def simulate(
    data: SimulationData, config: SimulationConfig, progress: ProgressFn | None = None
) -> dict:
    """Run config.rounds query rounds after the initial set; the curve has one point
    per trained model (rounds + 1), each evaluated on the test set."""
    resolve(config.strategy)  # an unknown name fails before any training
    rng = np.random.default_rng(config.seed)
    started = time.monotonic()
    labeled = initial_labels(data, config, rng)
    curve: list[dict] = []
    for round_no in range(config.rounds + 1):
        round_started = time.monotonic()
        model = _Round(data, labeled, config, config.seed + round_no)
        point = evaluate_round(data, model, labeled)
        unlabeled = np.setdiff1d(np.arange(len(data.pool)), labeled)
        if round_no < config.rounds and len(unlabeled):
            ctx = QueryContext(
                proba=model.pool_proba(unlabeled),
                thresholds=model.thresholds,
                label_counts=data.Y_pool[labeled].sum(axis=0),
                embeddings=data.E_pool[unlabeled],
                groups=facet_groups(data.tags),
                name_votes=None if data.N_pool is None else data.N_pool[unlabeled],
                n_labeled=len(labeled),
            )
            ranking = rank(
                config.strategy, ctx, config.batch, rng, exploration_share=config.exploration_share
            )
            labeled = np.concatenate([labeled, unlabeled[ranking.order]])
            point["queried"] = dict(Counter(ranking.reason))
        point["seconds"] = round(time.monotonic() - round_started, 2)
        curve.append(point)
        logger.debug("round %d: %s", round_no, point)
        report(
            progress,
            (round_no + 1) / (config.rounds + 1),
            f"{point['labels']} labels, micro-F1 {point['micro_f1']:.3f}",
        )
        if not len(unlabeled):
            break
    return {
        "strategy": config.strategy,
        "resolved_strategy": resolve(config.strategy).name,
        "seed": config.seed,
        "initial": config.initial,
        "batch": config.batch,
        "rounds": config.rounds,
        "mode": config.mode,
        "trainer": config.trainer,
        "exploration_share": config.exploration_share,
        "pool_size": len(data.pool),
        "test_size": len(data.test),
        "n_tags": len(data.tags),
        "curve": curve,
        "labeled_ids": [data.pool[i].id for i in labeled],  # in the order revealed
        "seconds": round(time.monotonic() - started, 1),
    }


def full_pool_reference(data: SimulationData, config: SimulationConfig) -> dict:
    """The same trainer on every pool label: the ceiling the curves climb towards."""
    labeled = np.arange(len(data.pool))
    return evaluate_round(data, _Round(data, labeled, config, config.seed), labeled)
