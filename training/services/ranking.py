"""Re-rank the review queue from the latest scores (the Celery `rank_queue` step).

The query strategies live in training.ml.query and work on numpy arrays; this
module builds those arrays from the database (scores, thresholds, label counts and,
for batch diversity, embeddings) and writes the result back as queue priorities.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
from django.db.models import Count

from annotation.models import (
    Product,
    ProductTag,
    ProjectSettings,
    QueueEntry,
    Suggestion,
    Tag,
    TagGroup,
)
from annotation.services import queue
from training.ml import query
from training.ml.names import NameVote
from training.ml.thresholds import facet_groups
from training.ml.types import TagSpec
from training.models import ModelVersion
from training.services import datasets, mistakes, progress, versions

logger = logging.getLogger(__name__)

# Products chosen as one diverse batch; everything after follows the strategy's
# score. A batch of the whole queue would run k-means with 100k clusters.
RANK_BATCH_SIZE = 500
# The cold start clusters at most this many products (a uniform sample), so that
# embedding and k-means stay bounded on a large catalogue.
COLD_START_SAMPLE = 20_000
_ROWS = 20_000  # rows fetched per database round trip
_CHUNK = 500  # ids per IN (...) list
DEFAULT_THRESHOLD = 0.5

Priorities = dict[int, queue.Priority]


def single_valued_groups(tag_vocab: Sequence[str]) -> list[list[int]]:
    """The columns of each single-valued facet in tag_vocab, as the model groups
    them (facet_groups): decided by argmax, so the query strategies measure their
    uncertainty as the margin between the best two."""
    single = set(TagGroup.objects.filter(multi_valued=False).values_list("name", flat=True))
    specs = [TagSpec.from_key(key) for key in tag_vocab]
    return facet_groups([replace(spec, single_valued=spec.facet in single) for spec in specs])


def _column_lookup(tag_vocab: Sequence[str]) -> np.ndarray:
    """An array mapping tag id -> column in tag_vocab (-1 for tags outside it).

    Suggestions are stored on the tag that carries a vocabulary key now (scoring
    follows merges the same way); where several keys were merged into one tag,
    its first column takes its scores."""
    by_key = Tag.objects.current_ids(tag_vocab)
    max_id = max(by_key.values(), default=0)
    lookup = np.full(max_id + 1, -1, dtype=np.int64)
    for col, key in enumerate(tag_vocab):
        pk = by_key.get(key)
        if pk is None:
            logger.info("tag %s of the model's vocabulary is no longer in the taxonomy", key)
        elif lookup[pk] < 0:
            lookup[pk] = col
    return lookup


def score_matrix(
    version: ModelVersion, product_ids: Iterable[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(ids, proba, thresholds, tag_vocab) for one model version: ids sorted
    ascending, proba[i, j] the version's score of tag_vocab[j] on product ids[i]
    (0.0 where it stored no suggestion), thresholds from the version (0.5 where a
    tag has none)."""
    ids = np.unique(np.fromiter(product_ids, dtype=np.int64))
    tag_vocab = [str(k) for k in version.tag_vocab]
    if not tag_vocab:
        # A version without a recorded vocabulary: its suggested tags, by key.
        keys = Tag.objects.filter(suggestions__model_version=version).distinct()
        tag_vocab = sorted(t.key for t in keys.select_related("group"))
    thresholds = np.asarray(
        [float(version.thresholds.get(key, DEFAULT_THRESHOLD)) for key in tag_vocab],
        dtype=np.float32,
    )
    proba = np.zeros((len(ids), len(tag_vocab)), dtype=np.float32)
    if len(ids) == 0 or not tag_vocab:
        return ids, proba, thresholds, tag_vocab
    lookup = _column_lookup(tag_vocab)
    # One pass over the version's suggestions beats a million-id IN list.
    rows = (
        Suggestion.objects.filter(model_version=version)
        .values_list("product_id", "tag_id", "score")
        .iterator(chunk_size=_ROWS)
    )
    batch: list[tuple[int, int, float]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _ROWS:
            _fill(proba, ids, lookup, batch)
            batch = []
    _fill(proba, ids, lookup, batch)
    return ids, proba, thresholds, tag_vocab


def _fill(
    proba: np.ndarray, ids: np.ndarray, lookup: np.ndarray, batch: list[tuple[int, int, float]]
) -> None:
    if not batch:
        return
    arr = np.asarray(batch, dtype=np.float64)
    pids = arr[:, 0].astype(np.int64)
    tags = arr[:, 1].astype(np.int64)
    rows = np.minimum(np.searchsorted(ids, pids), len(ids) - 1)
    cols = np.where(tags < len(lookup), lookup[np.minimum(tags, len(lookup) - 1)], -1)
    keep = (ids[rows] == pids) & (cols >= 0)
    proba[rows[keep], cols[keep]] = arr[keep, 2]


def label_counts(tag_vocab: Sequence[str]) -> np.ndarray:
    """Approved (human or imported) positives per tag, in tag_vocab order."""
    lookup = _column_lookup(tag_vocab)
    counts = np.zeros(len(tag_vocab), dtype=np.float64)
    rows = (
        ProductTag.objects.filter(state=ProductTag.State.APPROVED)
        .values("tag_id")
        .annotate(n=Count("pk"))
        .values_list("tag_id", "n")
    )
    for tag_id, n in rows:
        if tag_id < len(lookup) and lookup[tag_id] >= 0:
            counts[lookup[tag_id]] = n
    return counts


def _texts(product_ids: Sequence[int]) -> list[str]:
    by_id: dict[int, str] = {}
    for chunk in queue.chunks(list(product_ids), _CHUNK):
        products = Product.objects.filter(pk__in=chunk).only(
            "pk", "normalized_text", "title", "description"
        )
        by_id.update((product.pk, product.model_text) for product in products)
    return [by_id.get(int(pk), "") for pk in product_ids]


def embed_products(version: ModelVersion, product_ids: Sequence[int]) -> np.ndarray | None:
    """The version's encoder embeddings of the products, or None (with a warning)
    when its artifact cannot be loaded or cannot embed. Diversity is a refinement:
    the queue is still ranked without it."""
    if not versions.has_artifact(version):
        logger.warning(
            "model version %s has no model files at %s; ranking without diversity",
            version.pk,
            versions.artifact_dir(version),
        )
        return None
    try:
        model = versions.load_model(version)
        embeddings = np.asarray(model.embed(_texts(product_ids)), dtype=np.float32)
    except Exception:
        logger.warning(
            "could not embed products with model version %s; ranking without diversity",
            version.pk,
            exc_info=True,
        )
        return None
    if embeddings.ndim != 2 or len(embeddings) != len(product_ids):
        logger.warning(
            "model version %s returned embeddings of shape %s for %d products; ignored",
            version.pk,
            embeddings.shape,
            len(product_ids),
        )
        return None
    return embeddings


def name_votes(product_ids: Sequence[int], tag_vocab: Sequence[str]) -> np.ndarray:
    """(n, T) 1 where a tag's name (or an alias, or a display name) is written in
    the product's text: the rare-tag search's evidence for tags the model has
    seen too rarely to score."""
    specs = {spec.key: spec for spec in datasets.tag_specs()}
    single = set(TagGroup.objects.filter(multi_valued=False).values_list("name", flat=True))
    tags = [
        replace(
            specs.get(key) or TagSpec.from_key(key),
            single_valued=TagSpec.from_key(key).facet in single,
        )
        for key in tag_vocab
    ]
    vote = NameVote.from_tags(tags, facet_groups(tags))
    return vote.matrix(_texts(product_ids))


def _pool_embeddings(
    version: ModelVersion, ids: np.ndarray, base: np.ndarray, batch_size: int
) -> np.ndarray | None:
    """Embeddings for the candidates a diverse batch is drawn from (twice the
    sampling pool, for ties), zeros elsewhere: diversity only ever looks at the
    top of the ranking, so the rest of the queue is never embedded."""
    n = len(ids)
    pool = min(n, 2 * query.POOL_FACTOR * batch_size)
    if pool == 0:
        return None
    top = np.argpartition(-base, pool - 1)[:pool] if pool < n else np.arange(n)
    embedded = embed_products(version, ids[top].tolist())
    if embedded is None:
        return None
    full = np.zeros((n, embedded.shape[1]), dtype=np.float32)
    full[top] = embedded
    return full


def _priorities(ids: np.ndarray, ranking: query.Ranking, rest_reasons: Sequence[str]) -> Priorities:
    """The ranking as queue priorities; the query strategies' reasons are the
    queue's reason values."""
    reasons = [QueueEntry.Reason(reason) for reason in rest_reasons]
    for idx, reason in zip(ranking.order.tolist(), ranking.reason, strict=True):
        reasons[idx] = QueueEntry.Reason(reason)
    return {
        int(pid): queue.Priority(float(p), reasons[i])
        for i, (pid, p) in enumerate(zip(ids.tolist(), ranking.priority.tolist(), strict=True))
    }


def newest_first(product_ids: Sequence[int]) -> Priorities:
    """Priority by recency, newest product first: the order when nothing is known."""
    wanted = set(product_ids)
    # One ordered scan of the catalogue instead of an IN list of every pending id.
    ordered = [
        pk
        for pk in Product.objects.order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=_ROWS)
        if pk in wanted
    ]
    n = len(ordered)
    return {
        pid: queue.Priority((i + 1) / n, QueueEntry.Reason.NEW_PRODUCT)
        for i, pid in enumerate(ordered)
    }


def _zero_shot_version() -> ModelVersion | None:
    candidates = ModelVersion.objects.filter(mode=ModelVersion.Mode.ZERO_SHOT).exclude(
        status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED]
    )
    return next(
        (v for v in candidates.order_by("-created_at", "-pk") if versions.has_artifact(v)), None
    )


def _cold_start(
    product_ids: list[int],
    version: ModelVersion | None,
    batch_size: int,
    exploration_share: float,
    rng: np.random.Generator,
) -> tuple[Priorities, str]:
    """k-means representatives of the catalogue, embedded by `version` (the
    zero-shot one when no model is active); newest first without embeddings."""
    ids = np.unique(np.asarray(product_ids, dtype=np.int64))
    sample = ids
    if len(ids) > COLD_START_SAMPLE:
        sample = np.sort(rng.choice(ids, size=COLD_START_SAMPLE, replace=False))
    embeddings = embed_products(version, sample.tolist()) if version is not None else None
    if embeddings is None:
        return newest_first(ids.tolist()), "newest"
    ranking = query.rank(
        "cold_start",
        query.QueryContext.cold(embeddings),
        batch_size=min(batch_size, len(sample)),
        rng=rng,
        exploration_share=exploration_share,
    )
    priorities = _priorities(sample, ranking, [QueueEntry.Reason.NEW_PRODUCT] * len(sample))
    # Products outside the sample keep a random place below the chosen batch.
    for pid in np.setdiff1d(ids, sample).tolist():
        priorities[int(pid)] = queue.Priority(float(rng.random()), QueueEntry.Reason.NEW_PRODUCT)
    return priorities, "cold_start"


def rank_queue(
    model_version: ModelVersion | None = None,
    *,
    batch_size: int = RANK_BATCH_SIZE,
    seed: int | None = None,
    listener: progress.Listener | None = None,
) -> int:
    """Re-rank every unreviewed queue entry with the project's query strategy over
    `model_version`'s scores (default: the active version). Without any version,
    a cold start: diverse representatives when a zero-shot model can embed the
    catalogue, newest first otherwise. Live leases are kept. Returns the number of
    entries ranked."""
    queue.ensure_queue_entries()
    settings = ProjectSettings.load()
    exploration = min(max(settings.exploration_share, 0.0), 1.0)
    rng = np.random.default_rng(seed)
    version = model_version or ModelVersion.objects.active()
    # A possible mistake sent back for another look keeps its place and reason.
    pending = list(
        QueueEntry.objects.filter(completed_at__isnull=True)
        .exclude(reason=QueueEntry.Reason.POSSIBLE_MISTAKE)
        .values_list("product_id", flat=True)
    )
    if not pending:
        return 0
    # Shown on the dashboard and by `manage.py rescore` (services.progress).
    tracker = progress.Tracker(
        progress.RANKING,
        version.pk if version else None,
        total=len(pending),
        stage=progress.READING,
        listener=listener,
    )
    try:
        ranked = _rank(version, pending, settings, batch_size, exploration, rng, seed, tracker)
    except BaseException:
        tracker.finish(ok=False)
        raise
    tracker.finish()
    return ranked


def _rank(
    version: ModelVersion | None,
    pending: list[int],
    settings: ProjectSettings,
    batch_size: int,
    exploration: float,
    rng: np.random.Generator,
    seed: int | None,
    tracker: progress.Tracker,
) -> int:
    spec = query.resolve(settings.queue_strategy)

    if version is None or spec.name == "cold_start":
        tracker.stage(progress.CHOOSING)
        priorities, strategy = _cold_start(
            pending, version or _zero_shot_version(), batch_size, exploration, rng
        )
        tracker.stage(progress.WRITING, total=len(priorities))
        return queue.apply_ranking(
            priorities,
            strategy=strategy,
            model_version_id=version.pk if version else None,
            on_progress=tracker.advance,
        )

    ids, proba, thresholds, tag_vocab = score_matrix(version, pending)
    tracker.stage(progress.CHOOSING)
    ctx = query.QueryContext(
        proba=proba,
        thresholds=thresholds,
        label_counts=label_counts(tag_vocab),
        groups=single_valued_groups(tag_vocab),
    )
    if spec.score is None:
        rest_reasons: list[str] = [QueueEntry.Reason.EXPLORATION] * len(ids)
    else:
        base, rest_reasons = spec.score(ctx)
        if spec.diverse:
            ctx.embeddings = _pool_embeddings(
                version, ids, np.asarray(base, dtype=np.float64), batch_size
            )
    if spec.rare_share is not None or spec.name == "rare_search":
        ctx.name_votes = name_votes(ids.tolist(), tag_vocab)
        ctx.n_labeled = len(datasets.labeled_product_ids())
    ranking = query.rank(
        spec.name, ctx, batch_size=min(batch_size, len(ids)), rng=rng, exploration_share=exploration
    )
    priorities = _priorities(ids, ranking, rest_reasons)
    tracker.stage(progress.WRITING, total=len(priorities))
    ranked = queue.apply_ranking(
        priorities, strategy=spec.name, model_version_id=version.pk, on_progress=tracker.advance
    )
    mistakes.flag_possible_mistakes(version, seed=seed or 0)
    return ranked
