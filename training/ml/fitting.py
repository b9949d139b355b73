"""Training a tagger's scorer in head mode or full mode (called by model.train_tagger)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .calibration import Calibration, fit_calibration
from .embeddings import CacheLocation
from .encoder import Encoder, load_encoder
from .head import HeadClassifier, HeadConfig, HeadLayout, train_head
from .lexical import LexicalConfig, LexicalFeaturizer
from .names import NameVote, tune_name_blend
from .neighbours import NeighbourVote, tune_blend
from .priors import apply_boost, prior_boost, tune_taus
from .scorers import EncoderUser, FullScorer, HeadScorer, TunedHeadScorer
from .text import detect_language
from .thresholds import ThresholdPolicy, facet_groups, tune_thresholds
from .types import ProgressFn, StopFn, TagSpec, check_stop, report


@dataclass
class TrainConfig:
    mode: str = "head"  # "head" | "full"
    seed: int = 0
    val_fraction: float = 0.15
    base_model: str | None = None  # None: default_base_model()
    cache_dir: CacheLocation | None = None  # embedding cache for head mode; None: no cache
    device: str | None = None  # None: cuda when available
    precision: str | None = None  # frozen encoder: fp32 / int8 (CPU) / bf16; None: default
    max_length: int = 128
    head: HeadConfig = field(default_factory=HeadConfig)
    lexical: LexicalConfig | None = None  # None: chosen from the texts' language
    finetune: Any = None  # a finetune.FineTuneConfig; None: its defaults
    heads: list[HeadConfig] | None = None  # the ensemble; None: see head_members()
    neighbours: bool = True  # blend in a nearest-neighbour vote, weighted on validation
    neighbour_k: int = 10
    min_positives: int = 5  # validation positives for a tag to get its own threshold
    refit: bool = True  # after tuning, retrain on train + validation
    # Head mode: tune on cross-fitted scores over this many folds (0: on the
    # validation split alone); None: tuning_folds() decides by the data's size.
    tuning_folds: int | None = None
    rare_boost: bool = True  # favour rare tags in single-valued facets where it is free (priors.py)
    name_vote: bool = True  # blend in the tags whose names the text spells out (names.py)
    # Per-tag calibrated scores (calibration.py), thresholds tuned on that scale.
    calibrate: bool = True
    thresholds: ThresholdPolicy = field(default_factory=ThresholdPolicy)
    # Full mode: the fine-tuned encoder under head mode's heads, TF-IDF and votes
    # (TunedHeadScorer); False scores with the fine-tuned network's own head alone.
    full_head: bool = True

    def legacy(self) -> TrainConfig:
        """This config with the scoring and threshold rules from before issue #17
        (raw scores, thresholds with no floor, support or shrinkage), for
        side-by-side benchmarks."""
        return replace(self, calibrate=False, thresholds=ThresholdPolicy.legacy(self.min_positives))


def kfold_indices(n: int, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, test) index pairs: a seeded permutation cut into k near-equal test
    folds; every index is tested exactly once."""
    if k < 2 or k > n:
        raise ValueError(f"need 2 <= k <= n, got k={k}, n={n}")
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, k)
    return [
        (np.sort(np.concatenate([f for j, f in enumerate(folds) if j != i])), np.sort(folds[i]))
        for i in range(k)
    ]


# Head mode tunes its votes, calibration and thresholds on cross-fitted scores
# (CROSS_FIT_FOLDS folds over every product) when the training set has at most
# CROSS_FIT_MAX products: there a 15% validation slice is a few hundred products,
# too few for per-tag thresholds, and the extra fits are cheap. Larger sets keep
# the single validation split. bench/cross_fit.py measured the trade.
CROSS_FIT_FOLDS = 5
CROSS_FIT_MAX = 5000


def tuning_folds(config: TrainConfig, n: int) -> int:
    """Folds of cross-fitted tuning for n products (0: the single validation
    split): config.tuning_folds when set, else CROSS_FIT_FOLDS up to CROSS_FIT_MAX
    products."""
    folds = config.tuning_folds
    if folds is None:
        folds = CROSS_FIT_FOLDS if n <= CROSS_FIT_MAX else 0
    return folds if 2 <= folds <= n else 0


class Fitted(NamedTuple):
    """What train_head_scorer and train_full_scorer hand to train_tagger."""

    scorer: Any
    thresholds: np.ndarray
    info: dict
    calibration: Calibration | None


def lexical_config_for(texts: Sequence[str]) -> LexicalConfig:
    """Character 1-3-grams carry Chinese text (no spaces, mostly [UNK] to an
    English encoder); 2-5-grams inside words suit Latin scripts."""
    sample = list(texts[:2000])
    zh = sum(detect_language(t) == "zh" for t in sample)
    if sample and zh / len(sample) >= 0.5:
        return LexicalConfig(char_ngrams=(1, 3))
    return LexicalConfig()


def tune(proba: np.ndarray, Y: np.ndarray, tags: list[TagSpec], config: TrainConfig) -> np.ndarray:
    return tune_thresholds(
        proba,
        Y,
        facet_groups(tags),
        min_positives=config.min_positives,
        policy=config.thresholds,
        facets=[t.facet for t in tags],
    )


def calibrate_and_tune(
    proba: np.ndarray, Y: np.ndarray, tags: list[TagSpec], config: TrainConfig
) -> tuple[np.ndarray, Calibration | None]:
    """(thresholds, calibration) from validation scores and labels: with
    config.calibrate, per-tag maps to calibrated scores and thresholds on the
    calibrated scale; otherwise thresholds on the raw scores and no maps."""
    if not config.calibrate:
        return tune(proba, Y, tags, config), None
    calibration = fit_calibration(proba, Y, tags)
    return tune(calibration.apply(proba), Y, tags, config), calibration


def head_members(config: TrainConfig) -> list[HeadConfig]:
    """The ensemble: config.heads, or the configured head plus a variant that also
    feeds the TF-IDF through the hidden layer (it learns word interactions, e.g.
    colour words, that the linear lexical path cannot; the two err differently)."""
    if config.heads:
        return list(config.heads)
    if not config.head.hidden:
        return [config.head]
    return [config.head, replace(config.head, lexical_hidden=True, lexical_dropout=0.3)]


def tune_rare_boost(
    proba: np.ndarray, Y_val: np.ndarray, Y_train: np.ndarray, groups: list[list[int]]
) -> tuple[list[float], np.ndarray]:
    """(tau per group, per-tag boost): priors from the training part, taus from
    validation. The boost stays after refit: the priors barely move when the
    validation products join, and the taus were chosen for these ones."""
    counts = Y_train.sum(axis=0).astype(np.float64)
    taus = tune_taus(proba, Y_val, counts, groups)
    return taus, prior_boost(counts, groups, taus)


def _stage(progress: ProgressFn | None, start: float, end: float) -> ProgressFn:
    # start * (1 - f) + end * f is exactly `end` at f = 1, so a stage ends where
    # the next begins and the fractions reported never step back.
    return lambda f, s: report(progress, start * (1.0 - f) + end * f, s)


class _HeldOut(NamedTuple):
    """A fit on some products and its scores of others (_HeadFitting.held_out)."""

    lexical: LexicalFeaturizer
    heads: list[HeadClassifier]
    X: sp.csr_matrix  # the TF-IDF of every text
    neighbours: NeighbourVote | None
    proba: np.ndarray
    vote: np.ndarray | None


class _HeadFitting:
    """Fitting head mode's TF-IDF and ensemble on some of the products (one
    training run's texts, embeddings E and labels Y)."""

    def __init__(
        self,
        texts: list[str],
        E: np.ndarray,
        Y: np.ndarray,
        layout: HeadLayout,
        members: list[HeadConfig],
        config: TrainConfig,
        progress: ProgressFn | None,
        should_stop: StopFn | None,
    ) -> None:
        self.texts, self.E, self.Y, self.layout = texts, E, Y, layout
        self.members, self.config = members, config
        self.progress, self.should_stop = progress, should_stop
        self.lexical_config = config.lexical or lexical_config_for(texts)

    def fit(
        self,
        rows: np.ndarray,
        val_rows: np.ndarray | None,
        epochs: list[int] | None,
        span: tuple[float, float],
    ) -> tuple[LexicalFeaturizer, list[HeadClassifier], sp.csr_matrix]:
        """(lexical featurizer, heads, TF-IDF of every text) fitted on `rows`,
        early-stopped on `val_rows` or trained for `epochs` (one per member)."""
        report(self.progress, span[0], "lexical features")
        lexical = LexicalFeaturizer(self.lexical_config).fit([self.texts[i] for i in rows])
        X = lexical.transform(self.texts)
        E, Y = self.E, self.Y
        val = (E[val_rows], X[val_rows], Y[val_rows]) if val_rows is not None else None
        heads = []
        bounds = np.linspace(span[0], span[1], len(self.members) + 1)
        for m, member in enumerate(self.members):
            heads.append(
                train_head(
                    E[rows],
                    X[rows],
                    Y[rows],
                    self.layout,
                    member,
                    self.config.seed + m,
                    val,
                    epochs[m] if epochs else None,
                    _stage(self.progress, float(bounds[m]), float(bounds[m + 1])),
                    self.should_stop,
                )
            )
        return lexical, heads, X

    def neighbours(self, X: sp.csr_matrix, rows: np.ndarray) -> NeighbourVote:
        return NeighbourVote(self.E[rows], X[rows], self.Y[rows], k=self.config.neighbour_k)

    def held_out(
        self,
        base_model: str,
        rows: np.ndarray,
        held: np.ndarray,
        with_neighbours: bool,
        span: tuple[float, float],
    ) -> _HeldOut:
        """A fit on `rows`, early-stopped on `held`, and its scores of `held`: the
        heads' and, with_neighbours, the vote of the neighbours among `rows`."""
        lexical, heads, X = self.fit(rows, held, None, span)
        proba = HeadScorer(base_model, lexical, heads).proba_from_features(self.E[held], X[held])
        neighbours = self.neighbours(X, rows) if with_neighbours else None
        vote = neighbours.proba(self.E[held], X[held]) if neighbours is not None else None
        return _HeldOut(lexical, heads, X, neighbours, proba, vote)

    def cross_fitted(
        self, base_model: str, folds: int, with_neighbours: bool, span: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
        """(head scores, neighbour vote or None, epochs per member) of every
        product from a fit on the other folds (held_out): each product scored once
        by heads that never saw it, so the votes' blend, the rare-tag boost, the
        calibration and the thresholds are tuned on all of them instead of a
        validation slice. The epochs are the folds' early-stopped ones, averaged,
        for the refit."""
        proba = np.zeros(self.Y.shape, dtype=np.float32)
        vote = np.zeros(self.Y.shape, dtype=np.float32) if with_neighbours else None
        fold_epochs = []
        bounds = np.linspace(span[0], span[1], folds + 1)
        for f, (rest, held) in enumerate(kfold_indices(len(self.texts), folds, self.config.seed)):
            part = self.held_out(
                base_model, rest, held, with_neighbours, (float(bounds[f]), float(bounds[f + 1]))
            )
            proba[held] = part.proba
            if vote is not None and part.vote is not None:
                vote[held] = part.vote
            fold_epochs.append([head.epochs_trained for head in part.heads])
        epochs = [max(round(float(np.mean(e))), 1) for e in zip(*fold_epochs, strict=True)]
        return proba, vote, epochs


def train_head_scorer(
    texts: list[str],
    Y: np.ndarray,
    tags: list[TagSpec],
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    base_model: str,
    config: TrainConfig,
    progress: ProgressFn | None,
    should_stop: StopFn | None,
    encoder: Encoder | None = None,
    scorer_cls: type[HeadScorer] = HeadScorer,
    cross_fit: bool = True,
) -> Fitted:
    """encoder: an encoder already loaded (full mode's fine-tuned one), else
    base_model is loaded; scorer_cls: the class of the scorer returned;
    cross_fit: whether tuning may use cross-fitted scores (tuning_folds); see
    train_full_scorer for full mode's choice."""

    check_stop(should_stop)
    user = EncoderUser(
        base_model,
        config.max_length,
        config.device,
        config.cache_dir,
        encoder or load_encoder(base_model, config.device, config.precision),
    )
    E = user.embed(texts, _stage(progress, 0.0, 0.5))
    check_stop(should_stop)
    layout = HeadLayout.from_labels(
        [t.facet for t in tags], [t.single_valued for t in tags], Y[train_idx]
    )
    groups = facet_groups(tags)
    has_val = len(val_idx) > 0
    use_neighbours = config.neighbours and len(train_idx) >= config.neighbour_k

    fitting = _HeadFitting(texts, E, Y, layout, head_members(config), config, progress, should_stop)
    folds = tuning_folds(config, len(texts)) if has_val and config.refit and cross_fit else 0
    span = (0.5, 0.75) if has_val and config.refit else (0.5, 1.0)
    thresholds = np.full(len(tags), 0.5, dtype=np.float32)
    blend = np.zeros(len(tags), dtype=np.float32)
    boost = np.ones(len(tags), dtype=np.float32)
    name_blend = np.zeros(len(tags), dtype=np.float32)
    names = NameVote.from_tags(tags, groups) if config.name_vote else None
    taus = [0.0] * len(groups)
    calibration = None
    neighbours: NeighbourVote | None = None
    tune_rows, prior_rows = val_idx, train_idx
    if folds:
        tune_rows = prior_rows = np.arange(len(texts))
        proba, vote, epochs = fitting.cross_fitted(base_model, folds, use_neighbours, span)
    elif has_val:
        part = fitting.held_out(base_model, train_idx, val_idx, use_neighbours, span)
        lexical, heads, X, neighbours, proba, vote = part
        epochs = [head.epochs_trained for head in heads]
    else:
        lexical, heads, X = fitting.fit(train_idx, None, None, span)
        epochs = [head.epochs_trained for head in heads]
        neighbours = fitting.neighbours(X, train_idx) if use_neighbours else None
    if has_val:
        report(progress, span[1], "tuning thresholds")
        Y_tune = Y[tune_rows]
        if vote is not None:
            blend = tune_blend(proba, vote, Y_tune, groups)
            proba = (1.0 - blend) * proba + blend * vote
        if names is not None:
            matches = names.matrix([texts[i] for i in tune_rows])
            name_blend = tune_name_blend(proba, matches, Y_tune, groups)
            proba = (1.0 - name_blend) * proba + name_blend * matches
        if config.rare_boost and groups:
            taus, boost = tune_rare_boost(proba, Y_tune, Y[prior_rows], groups)
            proba = apply_boost(proba, boost, groups)
        thresholds, calibration = calibrate_and_tune(proba, Y_tune, tags, config)
        if config.refit:
            everything = np.arange(len(texts))
            lexical, heads, X = fitting.fit(everything, None, [max(e, 1) for e in epochs],
                                            (0.75, 1.0))  # fmt: skip
            if use_neighbours:
                neighbours = fitting.neighbours(X, everything)
    info: dict = {
        "epochs": epochs,
        "lexical_features": lexical.n_features,
        "refit": bool(has_val and config.refit),
        "tuning_folds": folds,
        "neighbour_blend": {tags[g[0]].facet: float(blend[g[0]]) for g in groups},
        "name_blend": {tags[g[0]].facet: float(name_blend[g[0]]) for g in groups},
        "rare_boost_tau": {tags[g[0]].facet: tau for g, tau in zip(groups, taus, strict=True)},
    }
    scorer = scorer_cls(
        base_model, lexical, heads, neighbours, blend, config.max_length, config.device,
        config.cache_dir, user.encoder, boost=boost, names=names, name_blend=name_blend,
    )  # fmt: skip
    return Fitted(scorer, thresholds, info, calibration)


# The name of full mode's fine-tuned encoder before it is saved (nothing caches
# its embeddings: they are only computed once per training run).
TUNED_ENCODER = "fine-tuned encoder"
# Full mode off CUDA (default_finetune_config); bench/encoders.py measures it.
CPU_FINETUNE_EPOCHS = 4
CPU_LORA_LAYERS = 6


def default_finetune_config(config: TrainConfig) -> Any:
    """Full mode's fine-tuning when config.finetune is unset. Off CUDA: LoRA on the
    top CPU_LORA_LAYERS layers (backpropagation stops below them) for
    CPU_FINETUNE_EPOCHS epochs, early-stopped; on CUDA: full updates in bf16 and
    the data-sized schedule of finetune.FineTuneConfig."""
    from .encoder import default_device
    from .finetune import FineTuneConfig

    device = config.device or default_device()
    ft = FineTuneConfig(seed=config.seed, device=device, max_length=config.max_length)
    if not device.startswith("cuda"):
        ft.adapter, ft.lora_layers = "lora", CPU_LORA_LAYERS
        ft.epochs, ft.patience = CPU_FINETUNE_EPOCHS, 1
    return ft


def train_full_scorer(
    texts: list[str],
    Y: np.ndarray,
    tags: list[TagSpec],
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    base_model: str,
    config: TrainConfig,
    progress: ProgressFn | None,
    should_stop: StopFn | None,
) -> Fitted:
    """Fine-tune the encoder on the training part, early-stopped on the validation
    part (LoRA off CUDA: finetune/adapters.py). With config.full_head the tuned
    encoder then replaces the frozen one under head mode (TunedHeadScorer: the
    head's fitting, tuning and refit are head mode's); otherwise the fine-tuned
    network's own linear head scores alone (FullScorer).

    After LoRA, the head tunes on cross-fitted scores where head mode would
    (tuning_folds). Those products were never seen by the heads that scored
    them, but 85% of them were by the adapters, so they are not fully held out;
    measured on Flipkart and OpenBG with three seeds, it still tuned better than
    the 15% split (docs/benchmarks.md, "Rows missing, and the targets"). After
    full updates (CUDA), which can learn the training products far better,
    unmeasured: the head keeps tuning on the validation split, whose products
    no update has seen."""
    from .finetune import finetune
    from .finetune.adapters import resolve_adapter

    ft_config = config.finetune or default_finetune_config(config)
    train_texts = [texts[i] for i in train_idx]
    val_texts = [texts[i] for i in val_idx]
    tuned_share = 0.6 if config.full_head else 0.95
    classifier = finetune(
        base_model,
        train_texts,
        Y[train_idx].astype(np.float32),
        val_texts,
        Y[val_idx].astype(np.float32),
        ft_config,
        progress=_stage(progress, 0.0, tuned_share),
        should_stop=should_stop,
    )
    if config.full_head:
        # What trained, on the device the fine-tuning ran on.
        lora = resolve_adapter(ft_config.adapter, classifier.device) == "lora"
        # Embedded at the precision it was tuned in; the artifact records it, and
        # loading keeps it where the device can run it (scorers.compatible_precision).
        encoder = Encoder(TUNED_ENCODER, classifier.network.encoder, classifier.tokenizer,
                          classifier.device, "bf16" if classifier.bf16 else "fp32")  # fmt: skip
        fitted = train_head_scorer(
            texts, Y, tags, train_idx, val_idx, base_model, replace(config, cache_dir=None),
            _stage(progress, tuned_share, 1.0),
            should_stop, encoder=encoder, scorer_cls=TunedHeadScorer, cross_fit=lora,
        )  # fmt: skip
        fitted.info.update(best_epoch=classifier.best_epoch, finetune=classifier.history)
        return fitted
    thresholds = np.full(len(tags), 0.5, dtype=np.float32)
    calibration = None
    if len(val_idx):
        report(progress, 0.95, "tuning thresholds")
        proba = classifier.predict_proba(val_texts)
        thresholds, calibration = calibrate_and_tune(proba, Y[val_idx], tags, config)
    # No refit in full mode: a second fine-tune doubles the cost, and early
    # stopping already chose the epoch on the validation set.
    info = {"best_epoch": classifier.best_epoch}
    return Fitted(FullScorer(classifier), thresholds, info, calibration)
