"""Small catalogues for the UI tests (view tests and the browser tests): facets,
tags, an active zero-shot version with thresholds, products with suggestions
and queue entries. No ML involved."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from annotation.models import Product, QueueEntry, Suggestion, Tag, TagGroup
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    QueueEntryFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
)
from training.models import ModelVersion

THRESHOLD = 0.5


def make_version(tags: Sequence[Tag], threshold: float = THRESHOLD) -> ModelVersion:
    keys = [t.key for t in tags]
    return ModelVersionFactory(
        mode=ModelVersion.Mode.ZERO_SHOT,
        status=ModelVersion.Status.ACTIVE,
        base_model="test",
        thresholds=dict.fromkeys(keys, threshold),
        tag_vocab=keys,
    )


def suggest(
    product: Product,
    tag: Tag,
    version: ModelVersion,
    score: float,
    evidence: Sequence[Sequence[int]] = (),
) -> Suggestion:
    threshold = version.thresholds.get(tag.key, THRESHOLD)
    return SuggestionFactory(
        product=product,
        tag=tag,
        model_version=version,
        score=score,
        selected=score >= threshold,
        evidence=[list(span) for span in evidence],
    )


def enqueue(product: Product, priority: float, reason: str = "uncertain") -> QueueEntry:
    return QueueEntryFactory(
        product=product, priority=priority, reason=reason, strategy="uncertainty"
    )


@dataclass
class Catalog:
    color: TagGroup
    material: TagGroup
    tags: dict[str, Tag]
    version: ModelVersion
    products: list[Product] = field(default_factory=list)


def build_catalog(products: int = 3, extra_products: int = 0) -> Catalog:
    """Colour (single-valued) and material facets; `products` queued products
    whose suggestions are: red 0.9 (selected), cotton 0.8 (selected), wool 0.3
    (not selected), the first queued at the highest priority. `extra_products`
    more products are scored the same way but not queued (bulk-review targets)."""
    color = TagGroupFactory(
        name="color",
        multi_valued=False,
        position=0,
        display_name_en="Colour",
        display_name_zh="颜色",
    )
    material = TagGroupFactory(
        name="material", position=1, display_name_en="Material", display_name_zh="材质"
    )

    def tag(group: TagGroup, name: str, en: str, zh: str, *aliases: str) -> Tag:
        return TagFactory(
            group=group, name=name, display_name_en=en, display_name_zh=zh, aliases=list(aliases)
        )

    tags = {
        "red": tag(color, "red", "Red", "红色", "crimson", "scarlet"),
        "blue": tag(color, "blue", "Blue", "蓝色", "navy"),
        "cotton": tag(material, "cotton", "Cotton", "棉", "cotton blend"),
        "wool": tag(material, "wool", "Wool", "羊毛", "merino"),
        "silk": tag(material, "silk", "Silk", "丝绸", "mulberry silk"),
    }
    version = make_version(list(tags.values()))
    catalog = Catalog(color=color, material=material, tags=tags, version=version)
    for i in range(products + extra_products):
        title = f"Red cotton shirt {i + 1}"
        product = ProductFactory(
            external_id=f"SKU-{i + 1:03d}",
            title=title,
            description="A soft shirt in red, made of cotton.",
            brand="Acme",
        )
        # Evidence indexes the model text: "Red" at 0-3, "cotton" at 4-10.
        suggest(product, tags["red"], version, 0.9, evidence=[(0, 3)])
        suggest(product, tags["cotton"], version, 0.8, evidence=[(4, 10)])
        suggest(product, tags["wool"], version, 0.3)
        if i < products:
            enqueue(product, priority=1.0 - i / 100)
        catalog.products.append(product)
    return catalog


def compile_messages() -> None:
    """Build the .mo files from the committed .po files (they are not committed)."""
    from django.core.management import call_command
    from django.utils.translation import trans_real

    call_command(
        "compilemessages", locale=["zh_Hans"], ignore_patterns=[".venv", "var"], verbosity=0
    )
    # Catalogues loaded before the .mo existed are cached per process.
    trans_real._translations = {}
