"""How a tag's name and aliases fared in review, where the model pointed at them.

A suggestion's evidence marks the words it rests on. Where such a span is the
tag's name, an alias or a display name written in the product's text, that form
proposed the tag. The reviewers' decisions on those products, counted per form,
show an alias that misleads: 白 ("white") inside 白鸭绒 ("white duck down"),
rejected on every sleeping bag filled with it. The admin then writes a longer
alias, or gives the longer word to the tag it names (Down), whose match then
covers the short one (training.ml.review_policy.names_tag).

Bounded: the tag's latest SAMPLE suggestions that carry evidence, each product
once, in three queries.
"""

from dataclasses import dataclass, field

from annotation.models import Product, ProductTag, Suggestion, Tag

SAMPLE = 2000
EXAMPLES = 3
# Characters shown either side of the form in an example.
CONTEXT = 12
# A form is flagged once reviewers rejected it this often, and more often than
# they approved it.
FLAG_AFTER = 3


@dataclass(frozen=True)
class Snippet:
    """Where a form stood in one product's text: before, the form, after."""

    product_id: int
    external_id: str
    before: str
    match: str
    after: str


@dataclass
class FormReview:
    form: str
    proposed: int = 0  # products whose suggestion rests on this form
    approved: int = 0
    rejected: int = 0
    rejected_examples: list[Snippet] = field(default_factory=list)

    @property
    def misleads(self) -> bool:
        return self.rejected >= FLAG_AFTER and self.rejected > self.approved


def surface_forms(tag: Tag) -> dict[str, str]:
    """{casefolded form: the form as the taxonomy writes it}: the name, the
    aliases and the display names, as the model matches them."""
    found: dict[str, str] = {}
    for form in tag.written_forms():
        found.setdefault(form.casefold(), form)
    return found


def alias_reviews(tag: Tag) -> list[FormReview]:
    """Per form that some suggestion of `tag` rests on: how often, and what the
    reviewers decided on those products; the most rejected first."""
    forms = surface_forms(tag)
    latest: dict[int, list] = {}
    rows = (
        Suggestion.objects.filter(tag=tag)
        .order_by("-id")
        .values_list("product_id", "evidence")[:SAMPLE]
    )
    for product_id, evidence in rows:
        if evidence and product_id not in latest:
            latest[product_id] = evidence
    if not latest:
        return []
    products = Product.objects.filter(pk__in=latest).only(
        "external_id", "title", "description", "normalized_text"
    )
    states = dict(
        ProductTag.objects.filter(tag=tag, product_id__in=latest).values_list("product_id", "state")
    )
    reviews: dict[str, FormReview] = {}
    for product in products:
        text = product.model_text
        for form, (start, end) in _forms_in(text, latest[product.pk], forms).items():
            review = reviews.setdefault(form, FormReview(form=form))
            review.proposed += 1
            state = states.get(product.pk)
            if state == ProductTag.State.APPROVED:
                review.approved += 1
            elif state == ProductTag.State.REJECTED:
                review.rejected += 1
                if len(review.rejected_examples) < EXAMPLES:
                    review.rejected_examples.append(_snippet(product, text, start, end))
    return sorted(reviews.values(), key=lambda r: (-r.rejected, -r.proposed, r.form))


def _forms_in(text: str, evidence: list, forms: dict[str, str]) -> dict[str, tuple[int, int]]:
    """{form: its first span} for the evidence spans that are one of `forms`."""
    found: dict[str, tuple[int, int]] = {}
    for span in evidence:
        try:
            start, end = int(span[0]), int(span[1])
        except (TypeError, ValueError, IndexError):
            continue
        if 0 <= start < end <= len(text):
            form = forms.get(text[start:end].casefold())
            if form is not None:
                found.setdefault(form, (start, end))
    return found


def _snippet(product: Product, text: str, start: int, end: int) -> Snippet:
    before = text[max(0, start - CONTEXT) : start]
    after = text[end : end + CONTEXT]
    return Snippet(
        product_id=product.pk,
        external_id=product.external_id,
        before=("…" if start > CONTEXT else "") + before,
        match=text[start:end],
        after=after + ("…" if end + CONTEXT < len(text) else ""),
    )
