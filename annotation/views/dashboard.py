"""The dashboard: catalogue progress, the long tail of tag counts, reviewer
throughput, the learning curve across model versions, the training run in
progress and the queue."""

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from annotation.models import Product, ProductTag, ReviewEvent, Tag
from annotation.services import queue
from annotation.templatetags.charts import RARE_BELOW
from annotation.templatetags.labels import localized_label
from training import charts
from training.models import ModelVersion, TrainingRun
from training.services.versions import active_version

CURVE_VERSIONS = 100


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
            "label": f"{localized_label(t.group)}: {localized_label(t)}",
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


def learning_curve() -> charts.LearningCurve | None:
    versions = list(ModelVersion.objects.order_by("-created_at", "-id")[:CURVE_VERSIONS])
    return charts.learning_curve(versions, {"micro": _("micro-F1"), "macro": _("macro-F1")})


def _latest_run() -> TrainingRun | None:
    return (
        TrainingRun.objects.filter(in_flight=True).first()
        or TrainingRun.objects.select_related("model_version").first()
    )


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    tag_counts = tag_positive_counts()
    rare = [row for row in tag_counts if row["count"] < RARE_BELOW]
    rare.sort(key=lambda row: (row["count"], row["label"]))
    context = {
        "progress": catalogue_progress(),
        "tag_counts": tag_counts,
        "rare_tags": rare,
        "rare_below": RARE_BELOW,
        "throughput": reviewer_throughput(),
        "curve": learning_curve(),
        "active": active_version(),
        "run": _latest_run(),
        "stats": queue.queue_stats(),
    }
    return render(request, "annotation/dashboard.html", context)


@login_required
@require_GET
def training_progress(request: HttpRequest) -> HttpResponse:
    """The read-only progress fragment the dashboard polls while a run is in flight."""
    return render(request, "annotation/_training_status.html", {"run": _latest_run()})
