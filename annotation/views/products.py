"""Bulk review (a filtered, paginated product list where one tag is accepted
or rejected across many products) and the product page with provenance."""

from collections import OrderedDict
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import ReviewError
from annotation.models import Product, ProductTag, QueueEntry, ReviewEvent, Suggestion, Tag
from annotation.services import active_model
from annotation.services import review as review_service
from annotation.templatetags.labels import localized_label
from annotation.views.access import SignedInRequest, reviewer_required
from annotation.views.forms import BulkTagForm, ProductFilterForm

PAGE_SIZE = 50
AUDIT_SHOWN = 300


def filter_products(
    data: dict[str, Any], version: active_model.ModelVersion | None
) -> QuerySet[Product]:
    """Products matching the bulk-review filters (cleaned ProductFilterForm data).
    Tag, facet and score bounds select on the active version's suggestions."""
    products = _filter_by_catalogue(Product.objects.all(), data)
    return _filter_by_suggestions(products, data, version)


def _filter_by_catalogue(products: QuerySet[Product], data: dict[str, Any]) -> QuerySet[Product]:
    """The filters on the product itself: text, category, review state, approved tag."""
    if q := (data.get("q") or "").strip():
        products = products.filter(
            Q(normalized_text__icontains=q) | Q(external_id=q) | Q(brand__icontains=q)
        )
    if category := (data.get("category") or "").strip():
        products = products.filter(category_path__icontains=category)
    if data.get("state") == "unreviewed":
        products = products.filter(reviewed_at__isnull=True)
    elif data.get("state") == "reviewed":
        products = products.filter(reviewed_at__isnull=False)
    if has_tag := data.get("has_tag"):
        products = products.filter(
            Exists(
                ProductTag.objects.filter(
                    product=OuterRef("pk"), tag=has_tag, state=ProductTag.State.APPROVED
                )
            )
        )
    return products


def _filter_by_suggestions(
    products: QuerySet[Product], data: dict[str, Any], version: active_model.ModelVersion | None
) -> QuerySet[Product]:
    """The filters on the active version's suggestions: tag, facet and score bounds.
    Without an active version, any of them matches nothing."""
    tag, facet = data.get("tag"), data.get("facet")
    low, high = data.get("score_min"), data.get("score_max")
    if not (tag or facet or low is not None or high is not None):
        return products
    if version is None:
        return products.none()
    scored = {}
    if low is not None:
        scored["score__gte"] = low
    if high is not None:
        scored["score__lte"] = high
    if tag:
        # One suggestion per (product, tag, version): a join, not a subquery, and
        # its score comes along for the "most likely first" order.
        products = products.filter(
            suggestions__model_version=version,
            suggestions__tag=tag,
            **{f"suggestions__{k}": v for k, v in scored.items()},
        ).annotate(tag_score=F("suggestions__score"))
    if facet or (scored and not tag):
        suggestions = Suggestion.objects.filter(
            model_version=version, product=OuterRef("pk"), **scored
        )
        if facet:
            suggestions = suggestions.filter(tag__group=facet)
        products = products.filter(Exists(suggestions))
    return products


def _with_tag_state(products: QuerySet[Product], tag: Tag | None) -> QuerySet[Product]:
    """The chosen tag's current decision on each product."""
    if tag is None:
        return products
    state = ProductTag.objects.filter(product=OuterRef("pk"), tag=tag).values("state")[:1]
    return products.annotate(tag_state=Subquery(state))


@reviewer_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET or None)
    # A filter that does not parse (an unknown tag, a score of "abc", a bound
    # out of range) lists nothing: the unfiltered catalogue is not its answer.
    invalid = form.is_bound and not form.is_valid()
    data = form.cleaned_data if form.is_bound and not invalid else {}
    version = active_model.active_version()
    products = filter_products(data, version)
    if invalid:
        products = products.none()
    tag = data.get("tag")
    products = _with_tag_state(products, tag).only(
        "id", "external_id", "title", "brand", "category_path", "reviewed_at", "language"
    )
    # With a tag chosen, its most likely products come first: the ones to accept.
    ordering = ["-tag_score", "id"] if tag is not None and version is not None else ["id"]
    page = Paginator(products.order_by(*ordering), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    approved: dict[int, list[Tag]] = {}
    for pt in (
        ProductTag.objects.filter(product__in=[p.pk for p in rows], state=ProductTag.State.APPROVED)
        .select_related("tag__group")
        .order_by("tag__group__position", "tag__name")
    ):
        approved.setdefault(pt.product_id, []).append(pt.tag)
    for product in rows:
        product.approved_tags = approved.get(product.pk, [])  # type: ignore[attr-defined]  # for the template only
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "invalid": invalid,
        "page": page,
        "rows": rows,
        "tag": tag,
        "version": version,
        "query": query.urlencode(),
        "next_url": request.get_full_path(),
        "bulk_tag": tag.key if tag else (data["has_tag"].key if data.get("has_tag") else ""),
        "needs_version": version is None
        and any(data.get(k) not in (None, "") for k in ("tag", "facet", "score_min", "score_max")),
    }
    return render(request, "annotation/products.html", context)


@reviewer_required
@require_POST
def bulk_tag(request: SignedInRequest) -> HttpResponse:
    form = BulkTagForm(request.POST)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))  # ErrorList yields message strings
        return redirect(next_url or "annotation:products")
    tag: Tag = form.cleaned_data["tag"]
    ids = form.cleaned_data["product"]
    approved = form.cleaned_data["decision"] == "accept"
    try:
        changed = review_service.bulk_set_tag(request.user, ids, tag, approved)
    except ReviewError as exc:
        messages.error(request, _("Nothing changed: %(reason)s") % {"reason": exc})
    else:
        params = {"tag": localized_label(tag), "changed": changed, "selected": len(ids)}
        if approved:
            text = _("Accepted %(tag)s on %(changed)d of %(selected)d selected products.")
        else:
            text = _("Rejected %(tag)s on %(changed)d of %(selected)d selected products.")
        messages.success(request, text % params)
    return redirect(next_url or "annotation:products")


@reviewer_required
@require_GET
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id)
    current = (
        ProductTag.objects.filter(product=product)
        .select_related("tag__group", "decided_by", "model_version")
        .order_by("tag__group__position", "tag__group__name", "tag__name")
    )
    by_version: OrderedDict[int, dict] = OrderedDict()
    for s in (
        Suggestion.objects.filter(product=product)
        .select_related("tag__group", "model_version")
        .order_by("-model_version__created_at", "-model_version_id", "-score")
    ):
        block = by_version.setdefault(
            s.model_version_id, {"version": s.model_version, "suggestions": []}
        )
        block["suggestions"].append(s)
    events = (
        ReviewEvent.objects.filter(product=product)
        .select_related("user", "tag__group", "model_version")
        .order_by("-created_at", "-id")[:AUDIT_SHOWN]
    )
    context = {
        "product": product,
        "current": current,
        "versions": list(by_version.values()),
        "events": events,
        "audit_limit": AUDIT_SHOWN,
        "entry": QueueEntry.objects.filter(product=product).first(),
    }
    return render(request, "annotation/product_detail.html", context)
