"""The dashboard: catalogue progress, the long tail of tag counts, reviewer
throughput, the learning curve across model versions, the training run in
progress and the queue."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from annotation.models import Product, ProductTag, ProjectSettings, ReviewEvent, Tag
from annotation.services import queue, workers
from annotation.templatetags.labels import facet_and_tag_label
from annotation.views.access import page_user_required
from training import jobs
from training import learning_curve as curves
from training.ml import stopping
from training.models import ModelVersion, TrainingRun
from training.services import comparison, progress

CURVE_VERSIONS = 100
# Finished re-scorings and rankings stay on the dashboard this long.
SHOW_FINISHED_SECONDS = 600
# Queued work older than this, or a job silent this long, makes the dashboard
# ask whether a worker consumes its queue.
ASK_WORKERS_AFTER_SECONDS = 30


def _midnight() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def catalogue_progress() -> dict:
    counts = Product.objects.aggregate(
        total=Count("pk"),
        reviewed=Count("pk", filter=Q(reviewed_at__isnull=False)),
        reviewed_today=Count("pk", filter=Q(reviewed_at__gte=_midnight())),
        eval=Count("pk", filter=Q(is_eval=True)),
    )
    total = counts["total"] or 0
    counts["percent"] = round(100 * counts["reviewed"] / total, 1) if total else 0.0
    return counts


def tag_positive_counts() -> list[dict]:
    """Approved examples per active tag, zeros included: the long tail."""
    tags = (
        Tag.objects.filter(status=Tag.Status.ACTIVE)
        .select_related("group")
        .annotate(
            positives=Count("product_tags", filter=Q(product_tags__state=ProductTag.State.APPROVED))
        )
    )
    return [
        {
            "label": facet_and_tag_label(t),
            "count": t.positives,
            "tag": t,
        }
        for t in tags
    ]


def reviewer_throughput() -> list[dict]:
    """Reviews (submissions not undone) per reviewer, today and over 7 days."""
    today = _midnight()
    week = today - timedelta(days=6)
    undone = ReviewEvent.objects.filter(
        action=ReviewEvent.Action.UNDO, submission=OuterRef("submission")
    )
    rows = (
        ReviewEvent.objects.filter(
            created_at__gte=week, action__in=queue.REVIEW_ACTIONS, submission__isnull=False
        )
        .exclude(Exists(undone))
        .values("user__username")
        .annotate(
            week=Count("submission", distinct=True),
            today=Count("submission", distinct=True, filter=Q(created_at__gte=today)),
            decisions=Count("pk"),
        )
        .order_by("-week", "user__username")
    )
    return [
        {
            "username": r["user__username"] or _("(deleted user)"),
            "today": r["today"],
            "week": r["week"],
            "decisions": r["decisions"],
        }
        for r in rows
    ]


def learning_curve() -> curves.LearningCurve | None:
    versions = list(ModelVersion.objects.order_by("-created_at", "-id")[:CURVE_VERSIONS])
    return curves.learning_curve(versions, {"micro": _("micro-F1"), "macro": _("macro-F1")})


def stopping_forecast() -> dict | None:
    """Labels still needed to reach the admins' target micro-F1, fitted on the
    learning curve across trained versions (training.ml.stopping); None while
    the curve has too few points."""
    target = ProjectSettings.load().target_f1
    points = [
        (v.metrics["labeled_count"], v.metrics["micro_f1"])
        for v in ModelVersion.objects.exclude(mode=ModelVersion.Mode.ZERO_SHOT).order_by(
            "-created_at", "-id"
        )[:CURVE_VERSIONS]
        if v.metrics.get("micro_f1") is not None and v.metrics.get("labeled_count") is not None
    ]
    result = stopping.forecast([p[0] for p in points], [p[1] for p in points], target)
    if result is None:
        return None
    step = max(result.labels // 10, 100)
    return {
        "forecast": result,
        "target": target,
        "step": step,
        "f1_after_step": result.f1_after(step),
        "total": None if result.labels_needed is None else result.labels + result.labels_needed,
    }


def background_work() -> list[progress.Progress]:
    """The catalogue's re-scoring and the queue's ranking, while they run and
    for a while after."""
    shown = []
    for kind in progress.KINDS:
        now = progress.current(kind)
        if now is not None and (not now.finished or now.age_seconds < SHOW_FINISHED_SECONDS):
            shown.append(now)
    return shown


def missing_worker(run: TrainingRun | None, work: list[progress.Progress]) -> dict | None:
    """The queue that work is waiting on and no worker consumes, with the
    command that starts one; None when nothing waits or a worker is there.
    Asks the workers only when something has waited a while (cached)."""
    waiting: list[str] = []
    if (
        run is not None
        and run.status == TrainingRun.Status.QUEUED
        and (timezone.now() - run.created_at).total_seconds() > ASK_WORKERS_AFTER_SECONDS
    ):
        waiting.append(jobs.training_queue())
    for job in work:
        if not job.finished and job.age_seconds > ASK_WORKERS_AFTER_SECONDS:
            queue_name = (
                jobs.scoring_queue() if job.kind == progress.SCORING else workers.default_queue()
            )
            waiting.append(queue_name)
    for queue_name in dict.fromkeys(waiting):
        if workers.cached_consumers(queue_name).none:
            return {"queue": queue_name, "command": workers.start_command(queue_name)}
    return None


def _status_context() -> dict:
    run = _latest_run()
    work = background_work()
    return {
        "run": run,
        "background": work,
        "background_active": any(not job.finished for job in work),
        "missing_worker": missing_worker(run, work),
    }


def _latest_run() -> TrainingRun | None:
    return (
        TrainingRun.objects.filter(in_flight=True).first()
        or TrainingRun.objects.select_related("model_version").first()
    )


@page_user_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    tag_counts = tag_positive_counts()
    rare = [row for row in tag_counts if row["count"] < settings.TAGGER_RARE_TAG_EXAMPLES]
    rare.sort(key=lambda row: (row["count"], row["label"]))
    active = ModelVersion.objects.active()
    context = {
        "progress": catalogue_progress(),
        "tag_counts": tag_counts,
        "rare_tags": rare,
        "rare_below": settings.TAGGER_RARE_TAG_EXAMPLES,
        "throughput": reviewer_throughput(),
        "curve": learning_curve(),
        "stopping": stopping_forecast(),
        "active": active,
        # Its latest measuring (a rolled-back version's too), without loading the
        # evaluation set on the home page; the models page says which set.
        "active_figures": comparison.latest_figures(active) if active else None,
        "stats": queue.queue_stats(),
        **_status_context(),
    }
    return render(request, "training/dashboard.html", context)


@page_user_required
@require_GET
def training_progress(request: HttpRequest) -> HttpResponse:
    """The read-only progress fragment the dashboard polls while a run is in flight."""
    return render(request, "training/_training_status.html", _status_context())
