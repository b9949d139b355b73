"""Category-aware proposals: which facets apply within each category.

A product's category is its tag in the category facet: the facet an admin marked
(`TagGroup.is_category`), else a facet named "category"; without either nothing
is masked. Training learns, per category, the facets seen on its approved
products (`training.services.categories`, stored on the model version); an
admin's `CategoryFacet` rows win over that: one allows a facet the training
data never showed, or excludes one it did. A category the model learned nothing
about (too few products) allows every facet but those an admin excluded.

`effective_schema` is what scoring masks with and what the taxonomy and review
pages show (`training.ml.category_schema.CategorySchema`, level "facet").
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from annotation.errors import TaxonomyError
from annotation.models import CategoryFacet, ProductTag, Tag, TagGroup
from annotation.services.review.state import TagView
from annotation.services.taxonomy import snapshot
from annotation.services.taxonomy.snapshot import (
    DEFAULT_CATEGORY_FACET,
    Taxonomy,
    pick_category_facet,
)
from training.ml.category_schema import CategorySchema


def category_facet() -> TagGroup | None:
    """The facet whose tag names a product's category (None: no masking)."""
    return pick_category_facet(
        TagGroup.objects.filter(Q(is_category=True) | Q(name=DEFAULT_CATEGORY_FACET))
    )


def mark_category_facet(group: TagGroup, marked: bool) -> None:
    """Make `group` the category facet (unmarking any other), or unmark it."""
    with transaction.atomic():
        if marked:
            TagGroup.objects.exclude(pk=group.pk).filter(is_category=True).update(is_category=False)
        TagGroup.objects.filter(pk=group.pk).update(is_category=marked)
        snapshot.changed()
    group.is_category = marked


def learned_for(facet: TagGroup, learned: dict | None) -> CategorySchema | None:
    """The schema a version learned, when it was learned for this facet at the
    facet level (a schema of another facet, or none, counts as nothing learned)."""
    schema = CategorySchema.from_json(learned or {})
    if schema is None or schema.facet != facet.name or schema.level != "facet":
        return None
    return schema


def effective_schema(
    learned: dict | None, taxonomy: Taxonomy | None = None
) -> CategorySchema | None:
    """The learned schema with the admins' overrides applied; None when the
    taxonomy has no category facet. Read from `taxonomy` when given (the review
    page's snapshot), else from the database."""
    taxonomy = taxonomy or snapshot.load()
    facet = taxonomy.category_facet
    if facet is None:
        return None
    schema = learned_for(facet, learned)
    allowed = dict(schema.allowed) if schema is not None else {}
    changes = taxonomy.overrides
    if changes:
        every = frozenset(group.name for group in taxonomy.groups.values())
        for key, facets in changes.items():
            base = set(allowed.get(key, every))
            base |= {name for name, ok in facets.items() if ok}
            base -= {name for name, ok in facets.items() if not ok}
            allowed[key] = frozenset(base)
    return CategorySchema(facet.name, "facet", allowed)


@dataclass(frozen=True)
class FacetRule:
    """One facet as a category's page shows it."""

    facet: TagGroup
    learned: bool | None  # seen with the category in training; None: nothing learned
    override: bool | None  # an admin's word, None when there is none
    applies: bool  # what scoring uses: the override, else the learned set, else True


def category_rules(category: Tag, learned: dict | None) -> list[FacetRule]:
    """Every other facet with whether it applies within `category` (a tag of the
    category facet)."""
    schema = learned_for(category.group, learned)
    seen = schema.allowed.get(category.key) if schema is not None else None
    overrides = dict(
        CategoryFacet.objects.filter(category=category).values_list("facet_id", "allowed")
    )
    rules = []
    for facet in TagGroup.objects.exclude(pk=category.group_id).order_by("position", "name"):
        learned_here = None if seen is None else facet.name in seen
        override = overrides.get(facet.pk)
        applies = override if override is not None else learned_here is not False
        rules.append(FacetRule(facet, learned_here, override, applies))
    return rules


def set_category_rule(
    category: Tag, facet: TagGroup, allowed: bool | None, user: User | None
) -> None:
    """Record an admin's word on `facet` within `category`; None removes it (the
    learned schema decides again). Refuses a tag outside the category facet and
    the category facet itself."""
    current = category_facet()
    if current is None or category.group_id != current.pk:
        raise TaxonomyError(
            gettext_noop("%(tag)s is not a tag of the category facet"),
            {"tag": repr(category.key)},
        )
    if facet.pk == current.pk:
        raise TaxonomyError(gettext_noop("the category facet always applies"))
    if allowed is None:
        CategoryFacet.objects.filter(category=category, facet=facet).delete()
        return
    CategoryFacet.objects.update_or_create(
        category=category, facet=facet, defaults={"allowed": allowed, "updated_by": user}
    )


@dataclass(frozen=True)
class CategoryFacets:
    """The review panel's line: the product's category and the facets that apply."""

    category: Tag
    facets: list[TagGroup]


def product_category(schema: CategorySchema, views: Sequence[TagView]) -> str | None:
    """The key of the product's category: an approved tag of the category facet,
    else the model's best one when it is sure enough."""
    approved = [v.key for v in views if v.state == ProductTag.State.APPROVED]
    return schema.category_for(approved, [(v.key, v.score) for v in views if v.score is not None])


def facets_that_apply(
    views: Sequence[TagView], learned: dict | None, taxonomy: Taxonomy
) -> CategoryFacets | None:
    """What the review panel says about the product's category (None when there
    is no category facet, the category is unknown or it has no schema)."""
    schema = effective_schema(learned, taxonomy)
    if schema is None:
        return None
    key = product_category(schema, views)
    allowed = schema.allowed.get(key) if key is not None else None
    if key is None or allowed is None:
        return None
    tag_id = next((v.tag_id for v in views if v.key == key), None)
    category = taxonomy.tags.get(tag_id) if tag_id is not None else None
    if category is None:
        return None
    facets = [
        group
        for group in taxonomy.ordered_groups()
        if group.name in allowed and group.name != schema.facet
    ]
    return CategoryFacets(category, facets)
