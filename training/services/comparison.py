"""Model versions compared on the same frozen evaluation set.

Each version is measured on the evaluation set as it was when the version was
trained (metrics `n_eval` and `eval_fingerprint`). The set only grows (see
evalset.py), so an older version's figures may come from a smaller set than a
newer one's. Those versions are measured again on the current set, by the
`remeasure_versions` task (queued from the models page, and for the active
version by every training run, which scores it on the new set anyway), and
the figures are kept per set in the version's metrics:

    metrics["on_sets"][fingerprint] = {"micro_f1", "macro_f1", "micro_precision",
        "micro_recall", "per_tag", "n_eval", "measured_at"}

The models page shows each version's figures on the current set, and says
which set (size, fingerprint, when measured) every figure comes from."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from training import jobs
from training.ml.metrics import binarize, multilabel_metrics
from training.models import ModelVersion
from training.services import datasets, versions

if TYPE_CHECKING:
    from training.ml.model import TaggerModel

logger = logging.getLogger(__name__)

# Versions that can be measured: built, with their files (failed and in-training ones not).
MEASURABLE = (ModelVersion.Status.READY, ModelVersion.Status.ACTIVE, ModelVersion.Status.ARCHIVED)
# How many earlier sets' figures a version keeps beside its training-time ones.
KEEP_SETS = 5
_KEPT_FIELDS = ("micro_f1", "macro_f1", "micro_precision", "micro_recall", "per_tag")


@dataclass(frozen=True)
class EvalSet:
    """The frozen evaluation set as it stands now."""

    size: int
    fingerprint: str

    @property
    def short(self) -> str:
        return self.fingerprint[:8]


@dataclass(frozen=True)
class Figures:
    """A version's quality on one evaluation set."""

    micro_f1: float | None
    macro_f1: float | None
    n_eval: int
    fingerprint: str
    measured_at: datetime | None
    current: bool  # measured on the evaluation set as it stands now
    per_tag: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.fingerprint[:8]


def current_eval_set(data: datasets.LabeledSet | None = None) -> EvalSet | None:
    """The evaluation set now (None before it is drawn)."""
    if data is None:
        data = datasets.labeled_examples(eval_only=True)
    if not len(data):
        return None
    return EvalSet(size=len(data), fingerprint=datasets.fingerprint(data))


def figures(version: ModelVersion, current: EvalSet | None) -> Figures | None:
    """The version's figures on the current set when it was measured there,
    else its training-time figures (current=False), else None."""
    metrics = version.metrics or {}
    if current is not None:
        if metrics.get("eval_fingerprint") == current.fingerprint:
            return _training_time(version, current=True)
        entry = (metrics.get("on_sets") or {}).get(current.fingerprint)
        if entry is not None:
            return _on_set(current.fingerprint, entry, current=True)
    if metrics.get("micro_f1") is None:
        return None
    return _training_time(version, current=False)


def latest_figures(version: ModelVersion) -> Figures | None:
    """The version's most recent figures, without reading the evaluation set:
    its last measuring on a set (record_figures keeps the newest last), else its
    training-time figures, else None. For pages that show one figure and should
    not load the set to find out whether it is current (the dashboard);
    `current` is False as it is not checked."""
    on_sets = (version.metrics or {}).get("on_sets") or {}
    if on_sets:
        fingerprint, entry = next(reversed(on_sets.items()))
        return _on_set(fingerprint, entry, current=False)
    if (version.metrics or {}).get("micro_f1") is None:
        return None
    return _training_time(version, current=False)


def _on_set(fingerprint: str, entry: dict[str, Any], *, current: bool) -> Figures:
    return Figures(
        micro_f1=entry.get("micro_f1"),
        macro_f1=entry.get("macro_f1"),
        n_eval=entry.get("n_eval", 0),
        fingerprint=fingerprint,
        measured_at=parse_datetime(entry.get("measured_at") or ""),
        current=current,
        per_tag=entry.get("per_tag") or {},
    )


def _training_time(version: ModelVersion, *, current: bool) -> Figures:
    metrics = version.metrics
    return Figures(
        micro_f1=metrics.get("micro_f1"),
        macro_f1=metrics.get("macro_f1"),
        n_eval=metrics.get("n_eval", 0),
        fingerprint=metrics.get("eval_fingerprint", ""),
        measured_at=version.created_at,
        current=current,
        per_tag=metrics.get("per_tag") or {},
    )


def can_remeasure(version: ModelVersion) -> bool:
    return version.status in MEASURABLE and versions.has_artifact(version)


def needs_remeasure(version: ModelVersion, current: EvalSet | None) -> bool:
    """Whether the version lacks figures on the current set and could get them."""
    if current is None or not can_remeasure(version):
        return False
    found = figures(version, current)
    return found is None or not found.current


def measure(model: "TaggerModel", data: datasets.LabeledSet) -> dict[str, Any]:
    """Metrics of a model on a labeled set ({} when the set is empty)."""
    if not len(data):
        return {}
    predicted = model.decide(model.predict_proba(data.texts))
    truth = binarize(data.labels, model.tag_vocab)
    return multilabel_metrics(truth, predicted, model.tag_vocab)


def record_figures(version_id: int, data: datasets.LabeledSet, metrics: dict[str, Any]) -> None:
    """Keep a version's metrics on `data` (an evaluation set) under its fingerprint."""
    if not len(data) or metrics.get("micro_f1") is None:
        return
    fingerprint = datasets.fingerprint(data)
    entry = {name: metrics.get(name) for name in _KEPT_FIELDS}
    entry.update(n_eval=len(data), measured_at=timezone.now().isoformat())
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            return
        on_sets = dict(version.metrics.get("on_sets") or {})
        on_sets.pop(fingerprint, None)
        on_sets[fingerprint] = entry
        while len(on_sets) > KEEP_SETS:
            on_sets.pop(next(iter(on_sets)))
        version.metrics = {**version.metrics, "on_sets": on_sets}
        version.save(update_fields=["metrics"])


def remeasure(version: ModelVersion, data: datasets.LabeledSet | None = None) -> dict[str, Any]:
    """Measure a version on the current evaluation set and keep the figures."""
    if data is None:
        data = datasets.labeled_examples(eval_only=True)
    metrics = measure(versions.load_model(version), data)
    record_figures(version.pk, data, metrics)
    return metrics


def remeasure_versions(version_ids: list[int] | None = None) -> list[int]:
    """Measure on the current set every given version (default: every
    measurable one) that has no figures there yet; returns the ids measured.
    A version that fails to load is logged and skipped."""
    data = datasets.labeled_examples(eval_only=True)
    current = current_eval_set(data)
    if current is None:
        return []
    candidates = ModelVersion.objects.filter(status__in=MEASURABLE).order_by("created_at", "pk")
    if version_ids is not None:
        candidates = candidates.filter(pk__in=version_ids)
    done: list[int] = []
    for version in candidates:
        if not needs_remeasure(version, current):
            continue
        try:
            remeasure(version, data)
        except Exception:
            logger.exception("could not measure v%s on the current evaluation set", version.pk)
            continue
        done.append(version.pk)
    logger.info("measured %s on the evaluation set %s", done, current.short)
    return done


def queue_remeasure(version_ids: list[int]) -> None:
    """Put the measuring of these versions on the queue (through the outbox:
    a broker that is down only delays it)."""
    jobs.remeasure_versions(version_ids)
