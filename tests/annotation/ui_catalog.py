"""Small catalogues for the UI tests (view tests and the browser tests): facets,
tags, an active zero-shot version with thresholds, products with suggestions
and queue entries. No ML involved."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from annotation.models import Product, QueueEntry, Suggestion, Tag, TagGroup
from training.ml.text import product_text, text_hash
from training.models import ModelVersion

THRESHOLD = 0.5


def make_group(
    name: str, *, multi: bool = True, position: int = 0, en: str = "", zh: str = ""
) -> TagGroup:
    return TagGroup.objects.create(
        name=name, multi_valued=multi, position=position, display_name_en=en, display_name_zh=zh
    )


def make_tag(
    group: TagGroup, name: str, *, en: str = "", zh: str = "", aliases: Sequence[str] = ()
) -> Tag:
    return Tag.objects.create(
        group=group, name=name, display_name_en=en, display_name_zh=zh, aliases=list(aliases)
    )


def make_version(tags: Sequence[Tag], threshold: float = THRESHOLD) -> ModelVersion:
    keys = [t.key for t in tags]
    return ModelVersion.objects.create(
        mode=ModelVersion.Mode.ZERO_SHOT,
        status=ModelVersion.Status.ACTIVE,
        base_model="test",
        thresholds=dict.fromkeys(keys, threshold),
        tag_vocab=keys,
    )


def make_product(external_id: str, title: str, description: str = "", **fields: object) -> Product:
    text = product_text(title, description)
    return Product.objects.create(
        external_id=external_id,
        title=title,
        description=description,
        normalized_text=fields.pop("normalized_text", text),
        content_hash=text_hash(text),
        **fields,
    )


def suggest(
    product: Product,
    tag: Tag,
    version: ModelVersion,
    score: float,
    evidence: Sequence[Sequence[int]] = (),
) -> Suggestion:
    threshold = version.thresholds.get(tag.key, THRESHOLD)
    return Suggestion.objects.create(
        product=product,
        tag=tag,
        model_version=version,
        score=score,
        selected=score >= threshold,
        evidence=[list(span) for span in evidence],
    )


def enqueue(product: Product, priority: float, reason: str = "uncertain") -> QueueEntry:
    return QueueEntry.objects.create(
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
    color = make_group("color", multi=False, position=0, en="Colour", zh="颜色")
    material = make_group("material", position=1, en="Material", zh="材质")
    tags = {
        "red": make_tag(color, "red", en="Red", zh="红色", aliases=["crimson", "scarlet"]),
        "blue": make_tag(color, "blue", en="Blue", zh="蓝色", aliases=["navy"]),
        "cotton": make_tag(material, "cotton", en="Cotton", zh="棉", aliases=["cotton blend"]),
        "wool": make_tag(material, "wool", en="Wool", zh="羊毛", aliases=["merino"]),
        "silk": make_tag(material, "silk", en="Silk", zh="丝绸", aliases=["mulberry silk"]),
    }
    version = make_version(list(tags.values()))
    catalog = Catalog(color=color, material=material, tags=tags, version=version)
    for i in range(products + extra_products):
        title = f"Red cotton shirt {i + 1}"
        product = make_product(
            f"SKU-{i + 1:03d}", title, "A soft shirt in red, made of cotton.", brand="Acme"
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
