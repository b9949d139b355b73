"""The body of a training run, as the train_model task executes it.

The TrainingRun row is the source of truth: status, stage, progress, log and
heartbeat are written to it as the run goes, so the admin page, the `train`
command and the stale-run sweep all read the same thing."""

import logging
import re
import threading
import time
import traceback
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from annotation.models import ProjectSettings
from training.errors import NothingToTrain
from training.ml.types import Cancelled, ProgressFn
from training.models import ModelVersion, TrainingRun
from training.services import categories, comparison, datasets, evalset, versions
from training.stages import stage_key

if TYPE_CHECKING:
    from training.ml.model import TaggerModel, TrainConfig

logger = logging.getLogger(__name__)

# How often the progress callback may write the row, and read cancel_requested.
WRITE_EVERY_S = 1.0
STOP_CHECK_EVERY_S = 2.0
LOG_MAX_LINES = 300
ERROR_TAIL_CHARS = 6000

_DIGITS = re.compile(r"\d+")

# Shares of the progress bar per stage.
_PREPARE = (0.0, 0.05)
_TRAIN = (0.05, 0.85)
_EVALUATE = (0.85, 0.95)
_SAVE = (0.95, 1.0)


class RunVanished(Exception):
    """The run is no longer running in the database (the stale sweep failed it,
    or the row was deleted), so this worker must stop."""


class _Reporter:
    """Turns ML progress callbacks into throttled writes of the run row."""

    def __init__(self, run: TrainingRun, listener: ProgressFn | None) -> None:
        self.run_id = run.pk
        self.listener = listener
        self.lines = [line for line in run.log.splitlines() if line]
        self.stage = ""
        self.progress = 0.0
        self.last_write = 0.0
        self.last_stop_check = 0.0
        self.stop_requested = False

    def log(self, text: str) -> None:
        logger.info("training run %s: %s", self.run_id, text)
        self.lines.append(f"{timezone.now():%Y-%m-%d %H:%M:%S} {text}")
        self.lines = self.lines[-LOG_MAX_LINES:]

    def phase(self, span: tuple[float, float]) -> ProgressFn:
        low, high = span

        def report(fraction: float, stage: str) -> None:
            self.update(low + (high - low) * min(max(fraction, 0.0), 1.0), stage)

        return report

    def update(self, fraction: float, stage: str, force: bool = False) -> None:
        percent = round(100.0 * fraction, 1)
        stage_changed = stage != self.stage
        # "epoch 3" after "epoch 2" is progress, not news: the log keeps a line
        # per kind of stage, the stage column shows the latest.
        if _DIGITS.sub("#", stage) != _DIGITS.sub("#", self.stage):
            self.log(stage)
        self.stage, self.progress = stage, percent
        if self.listener is not None:
            self.listener(fraction, stage)
        now = time.monotonic()
        if force or stage_changed or now - self.last_write >= WRITE_EVERY_S:
            self.write()
            self.last_write = now
        # Long steps that report progress but never ask (reading the texts,
        # loading a model) stop here too: a cancel, or the worker shutting down.
        if not force and self.should_stop():
            raise Cancelled("cancelled while " + stage)

    def write(self, **extra: object) -> None:
        updated = TrainingRun.objects.filter(
            pk=self.run_id, status=TrainingRun.Status.RUNNING
        ).update(
            progress=self.progress,
            # The key (see training.stages): pages show it in the reader's language.
            stage=stage_key(self.stage)[:200],
            heartbeat_at=timezone.now(),
            log="\n".join(self.lines) + "\n",
            **extra,
        )
        if not updated:
            raise RunVanished(f"training run {self.run_id} is no longer marked running")

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self.stop_requested and now - self.last_stop_check >= STOP_CHECK_EVERY_S:
            self.last_stop_check = now
            self.stop_requested = bool(
                TrainingRun.objects.filter(pk=self.run_id)
                .values_list("cancel_requested", flat=True)
                .first()
            )
        return self.stop_requested


class _Heartbeat(threading.Thread):
    """Beats while one long step (e.g. loading weights) reports no progress, so
    only a dead worker goes stale. It touches nothing but heartbeat_at."""

    def __init__(self, run_id: int) -> None:
        super().__init__(name=f"heartbeat-run-{run_id}", daemon=True)
        self.run_id = run_id
        self.interval = max(1.0, min(30.0, settings.TAGGER_HEARTBEAT_STALE_SECONDS / 4))
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(self.interval):
                try:
                    TrainingRun.objects.filter(
                        pk=self.run_id, status=TrainingRun.Status.RUNNING
                    ).update(heartbeat_at=timezone.now())
                except Exception:
                    logger.warning("heartbeat of run %s not written", self.run_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


def resolve_mode(requested: str) -> str:
    """The run's mode, or the worker's default: full where CUDA is, else head."""
    mode = requested or settings.TAGGER_TRAIN_MODE
    if mode:
        return mode
    from training.ml.encoder import default_device

    return ModelVersion.Mode.FULL if default_device() == "cuda" else ModelVersion.Mode.HEAD


def run_training(run_id: int, listener: ProgressFn | None = None) -> ModelVersion | None:
    """Execute a queued run: build the data, train, evaluate on the frozen set,
    save the artifact, record a ready ModelVersion and promote it when the
    project's rule says so. Returns the version, or None when the run was not
    queued (already taken, cancelled, or gone) or got cancelled.

    Any error marks the run and its version failed (with the traceback tail in
    the run's `error`), leaves the active version alone, and is re-raised."""
    now = timezone.now()
    claimed = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        logger.warning("training run %s is not queued (gone, taken or cancelled); skipping", run_id)
        return None
    run = TrainingRun.objects.get(pk=run_id)
    reporter = _Reporter(run, listener)
    heartbeat = _Heartbeat(run_id)
    # Inside a caller's transaction another connection could neither see the
    # row nor write it without waiting for that transaction.
    if not connection.in_atomic_block:
        heartbeat.start()
    version: ModelVersion | None = None
    try:
        version = _train(run, reporter)
    except Cancelled:
        reporter.log("cancelled")
        _finish(run, reporter, TrainingRun.Status.CANCELLED, version_of(run))
        return None
    except Exception as exc:
        if isinstance(exc, RunVanished):
            logger.error("training run %s was taken away from this worker", run_id)
        else:
            reporter.log(f"failed: {type(exc).__name__}: {exc}")
        tail = traceback.format_exc()[-ERROR_TAIL_CHARS:]
        _finish(
            run,
            reporter,
            TrainingRun.Status.FAILED,
            version_of(run),
            error=f"{type(exc).__name__}: {exc}\n\n{tail}",
        )
        raise
    finally:
        if heartbeat.is_alive():
            heartbeat.stop()
    maybe_auto_promote(version)
    return version


def version_of(run: TrainingRun) -> ModelVersion | None:
    version_id = (
        TrainingRun.objects.filter(pk=run.pk).values_list("model_version_id", flat=True).first()
    )
    return ModelVersion.objects.filter(pk=version_id).first() if version_id else None


def train_config(mode: str, base_model: str | None) -> "TrainConfig":
    """The ML core's settings for a run (its defaults, this project's paths)."""
    from training.ml.model import TrainConfig

    return TrainConfig(mode=mode, base_model=base_model, cache_dir=versions.embedding_cache_dir())


def _train(run: TrainingRun, reporter: _Reporter) -> ModelVersion:
    from training.ml.model import train_tagger

    prepare = reporter.phase(_PREPARE)
    prepare(0.0, "preparing data")
    mode = resolve_mode(run.mode)
    if mode != run.mode:
        run.mode = mode
        run.save(update_fields=["mode"])
    reporter.log(f"mode {mode}")

    change = evalset.ensure_eval_set()
    if change.added:
        reporter.log(f"evaluation set grew by {change.added} to {change.eval_size} products")
    train = datasets.labeled_examples(exclude_eval=True)
    held_out = datasets.labeled_examples(eval_only=True)
    specs = datasets.tag_specs()
    if not len(train):
        raise NothingToTrain(
            "no labeled products to train on: review or import tagged products first"
        )
    if not specs:
        raise NothingToTrain("the taxonomy has no active tags")
    reporter.log(f"{len(train)} training products, {len(held_out)} in the evaluation set")
    prepare(1.0, "preparing data")

    base_model = settings.TAGGER_BASE_MODEL or None
    version = ModelVersion.objects.create(
        mode=mode,
        status=ModelVersion.Status.TRAINING,
        base_model=base_model or "",
        created_by=run.created_by,
        train_size=len(train),
        train_fingerprint=datasets.fingerprint(train),
        # Which facets apply within each category, from these products' approved tags.
        category_schema=categories.learn_schema(train.labels),
    )
    run.model_version = version
    run.save(update_fields=["model_version"])

    model = train_tagger(
        train.texts,
        train.labels,
        specs,
        train_config(mode, base_model),
        progress=reporter.phase(_TRAIN),
        should_stop=reporter.should_stop,
    )

    evaluate = reporter.phase(_EVALUATE)
    evaluate(0.0, "evaluating on the frozen set")
    metrics = evaluate_model(model, held_out)
    metrics.update(
        labeled_count=len(train) + len(held_out),
        n_train=len(train),
        n_eval=len(held_out),
        eval_fingerprint=datasets.fingerprint(held_out),
    )
    active = ModelVersion.objects.active()
    if active is not None and len(held_out):
        metrics["baseline"] = _baseline(active, held_out)
    evaluate(1.0, "evaluating on the frozen set")
    if metrics.get("micro_f1") is not None:
        reporter.log(f"micro-F1 {metrics['micro_f1']:.3f}, macro-F1 {metrics['macro_f1']:.3f}")

    save = reporter.phase(_SAVE)
    save(0.0, "saving the model")
    with transaction.atomic():
        versions.register_built_model(version, model, metrics)
        reporter.log(f"model v{version.pk} ready")
        reporter.update(1.0, "done", force=True)
        _finish(run, reporter, TrainingRun.Status.SUCCEEDED, None)
    return version


def evaluate_model(model: "TaggerModel", data: datasets.LabeledSet) -> dict:
    """Metrics of a model on a labeled set ({} when the set is empty)."""
    return comparison.measure(model, data)


def _baseline(active: ModelVersion, held_out: datasets.LabeledSet) -> dict:
    """The active version scored on the same evaluation set, so promotion
    compares like with like even after the set has grown."""
    try:
        metrics = evaluate_model(versions.load_model(active), held_out)
    except Exception as exc:
        # The new model is still worth keeping; the comparison is reported missing.
        logger.exception("could not evaluate the active v%s for comparison", active.pk)
        return {"version": active.pk, "error": f"{type(exc).__name__}: {exc}"}
    # The models page compares the two on this set too.
    comparison.record_figures(active.pk, held_out, metrics)
    return {
        "version": active.pk,
        "mode": active.mode,
        "micro_f1": metrics.get("micro_f1"),
        "macro_f1": metrics.get("macro_f1"),
    }


def _finish(
    run: TrainingRun,
    reporter: _Reporter,
    status: str,
    version: ModelVersion | None,
    error: str = "",
) -> None:
    """Close the run (in_flight back to NULL lets the next one start) and fail
    the version it was building, unless the run succeeded."""
    now = timezone.now()
    fields: dict[str, object] = {
        "status": status,
        "finished_at": now,
        "in_flight": None,
        "log": "\n".join(reporter.lines) + "\n",
    }
    if error:
        fields["error"] = error
    if status == TrainingRun.Status.CANCELLED:
        fields["stage"] = "cancelled"
    # Only from running: a run the sweep already failed keeps that verdict.
    TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(**fields)
    if version is not None and status != TrainingRun.Status.SUCCEEDED:
        ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.TRAINING).update(
            status=ModelVersion.Status.FAILED
        )
        versions.discard_artifact(version)


def promotion_decision(
    version: ModelVersion, active: ModelVersion | None, margin: float
) -> dict[str, object]:
    """The auto-promotion rule, with its reason: {"promoted", "reason", and
    "active", "new", "old", "margin" where they apply}.

    - no active version: promoted ("first");
    - a zero-shot active version: promoted unless it was measured on the same
      evaluation set and scored a higher micro-F1 ("not_better"): the trained
      model learns from every review, so a tie goes to it ("beats");
    - otherwise the new micro-F1 must beat the active one's by `margin` on the
      same evaluation set ("beats" / "not_better"), and without a comparison on
      the same set nothing is promoted ("no_comparison", or "no_metrics" when
      the new version was not measured)."""
    if active is None:
        return {"promoted": True, "reason": "first"}
    zero_shot = active.mode == ModelVersion.Mode.ZERO_SHOT
    new = version.metrics.get("micro_f1")
    decision: dict[str, object] = {"active": active.pk, "new": new}
    baseline = version.metrics.get("baseline") or {}
    same_set = True
    if baseline.get("version") == active.pk and baseline.get("micro_f1") is not None:
        old = baseline["micro_f1"]
    elif active.metrics.get("eval_fingerprint") == version.metrics.get("eval_fingerprint"):
        old = active.metrics.get("micro_f1")
    else:
        old, same_set = None, False
    if new is None:
        # Nothing to weigh: only a zero-shot model gives way to it.
        return {**decision, "promoted": zero_shot, "reason": "first" if zero_shot else "no_metrics"}
    if not same_set:
        reason = "beats" if zero_shot else "no_comparison"
        return {**decision, "promoted": zero_shot, "reason": reason}
    if old is None:
        # The same set, but the active version has no figure on it.
        return {**decision, "promoted": True, "reason": "active_unmeasured"}
    needed = 0.0 if zero_shot else margin
    promoted = new >= old + needed
    reason = "beats" if promoted else "not_better"
    return {**decision, "old": old, "margin": needed, "promoted": promoted, "reason": reason}


def should_promote(version: ModelVersion, active: ModelVersion | None, margin: float) -> bool:
    """Whether the auto-promotion rule holds (promotion_decision)."""
    return bool(promotion_decision(version, active, margin)["promoted"])


def maybe_auto_promote(version: ModelVersion) -> bool:
    """Promote a freshly trained version when ProjectSettings allows and the
    rule holds; returns whether it did. The decision and its reason are kept in
    the version's metrics ("auto_promotion"), which the models page shows."""
    project = ProjectSettings.load()
    if not project.auto_promote:
        return False
    active = ModelVersion.objects.active()
    decision = promotion_decision(version, active, project.promote_margin)
    with transaction.atomic():
        fresh = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        if fresh is not None:
            fresh.metrics = {**fresh.metrics, "auto_promotion": decision}
            fresh.save(update_fields=["metrics"])
    if not decision["promoted"]:
        logger.info("v%s not promoted: %s", version.pk, decision)
        return False
    versions.promote(version, None)
    return True
