"""Reviewers' possible mistakes back into the review queue.

training.ml.query.mistakes finds the decisions the model confidently contradicts
(out-of-fold scores over the version's embeddings, then cleanlab's confident
learning); this module reads the decisions from the database, and sends the
products back to the queue with the reason "possible mistake" and, for the
product page, what the model says about each questioned decision. At most the
admins' `ProjectSettings.mistake_share` of the decisions are questioned, and a
decision is questioned once: after a person has looked again it is theirs.
"""

import logging

import numpy as np

from annotation.models import ProjectSettings, QueueEntry
from annotation.services import queue
from training.ml.metrics import binarize
from training.ml.query import mistakes
from training.ml.thresholds import facet_groups
from training.models import ModelVersion
from training.services import datasets, versions

logger = logging.getLogger(__name__)

STRATEGY = "possible_mistake"


def _embed(version: ModelVersion, texts: list[str]) -> np.ndarray | None:
    if not versions.has_artifact(version):
        logger.info("model version %s has no files: no mistake detection", version.pk)
        return None
    try:
        embeddings = np.asarray(versions.load_model(version).embed(texts), dtype=np.float32)
    except Exception:
        logger.warning("could not embed the labeled products", exc_info=True)
        return None
    return embeddings if embeddings.ndim == 2 and len(embeddings) == len(texts) else None


def _questioned_before(product_ids: list[int]) -> dict[int, set[str]]:
    """Tags whose decision on a product was already sent back once."""
    out: dict[int, set[str]] = {}
    entries = QueueEntry.objects.filter(product_id__in=product_ids).values_list(
        "product_id", "detail"
    )
    for pid, detail in entries:
        if isinstance(detail, dict):
            out[pid] = set(detail.get("questioned", []))
    return out


def _details(
    found: mistakes.Mistakes, product_ids: list[int], vocab: list[str], version: ModelVersion
) -> dict[int, dict]:
    """product id -> the product page's account of its questioned decisions, in
    the order of the most confident flag first."""
    flagged = sorted({product_ids[int(r)] for r in found.rows})
    before = _questioned_before(flagged)
    details: dict[int, dict] = {}
    for i in range(len(found)):
        pid = product_ids[int(found.rows[i])]
        tag = vocab[int(found.columns[i])]
        if tag in before.get(pid, set()):
            continue
        detail = details.setdefault(
            pid,
            {
                "model_version": version.pk,
                "possible_mistake": [],
                "questioned": sorted(before.get(pid, set())),
            },
        )
        detail["possible_mistake"].append(
            {
                "tag": tag,
                "approved": bool(found.approved[i]),
                "score": round(float(found.score[i]), 3),
                "expected": vocab[int(found.expected[i])],
                "expected_score": round(float(found.expected_score[i]), 3),
            }
        )
        detail["questioned"] = sorted({*detail["questioned"], tag})
    return details


def flag_possible_mistakes(version: ModelVersion, *, seed: int = 0) -> int:
    """Send the products whose decisions `version`'s embeddings most confidently
    contradict back to the queue. Returns the number of products sent back."""
    share = min(max(ProjectSettings.load().mistake_share, 0.0), 1.0)
    if share <= 0:
        return 0
    data = datasets.labeled_examples(exclude_eval=False)
    if len(data) < mistakes.MIN_DECISIONS:
        return 0
    specs = datasets.tag_specs()
    vocab = [s.key for s in specs]
    embeddings = _embed(version, data.texts)
    if embeddings is None:
        return 0
    Y = binarize(data.labels, vocab)
    found = mistakes.detect(embeddings, Y, facet_groups(specs), share=share, seed=seed)
    details = _details(found, data.product_ids, vocab, version)
    return queue.send_back(
        details,
        reason=QueueEntry.Reason.POSSIBLE_MISTAKE,
        strategy=STRATEGY,
        model_version_id=version.pk,
    )
