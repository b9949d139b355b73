"""Serializers shared by the API modules: products, tags and the review view of a
product. Input cleaning beyond types is the services' job (the import cleans
product rows, the taxonomy service cleans names), so these stay thin."""

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.models import Product, ProductTag, Tag, TagGroup
from annotation.services.importing.tags import TagResolver
from annotation.services.taxonomy import facet_named


def with_approved_tags(products: QuerySet[Product]) -> QuerySet[Product]:
    """Products with their approved tags prefetched (for ProductSerializer.tags)."""
    return products.prefetch_related(
        Prefetch(
            "product_tags",
            queryset=ProductTag.objects.filter(state=ProductTag.State.APPROVED)
            .select_related("tag__group")
            .order_by("tag__group__position", "tag__group__name", "tag__name"),
            to_attr="approved_rows",
        )
    )


def find_tag(key: str, resolver: TagResolver | None = None) -> Tag:
    """The tag a `facet:value` key (or an alias) names, following merges, as the
    import resolves it; ValidationError when there is none."""
    facet, _, name = key.partition(":")
    if not (facet.strip() and name.strip()):
        raise serializers.ValidationError(f"{key!r} is not in facet:value form")
    tag = (resolver or TagResolver()).lookup(facet, name)
    if tag is None:
        raise serializers.ValidationError(f"unknown tag {key!r}")
    return tag


def find_facet(name: str) -> TagGroup:
    """The facet called `name`, matched as a tag key's facet is (case-insensitively,
    as the import matches); ValidationError when there is none, so that a filter
    on a misspelt facet is refused instead of matching nothing."""
    group = facet_named(name.strip()) if name.strip() else None
    if group is None:
        raise serializers.ValidationError(f"unknown facet {name!r}")
    return group


class _LookupField(serializers.CharField, ABC):
    """An object given on the wire as a string: `find` turns the string into the
    object (ValidationError when there is none), and the object is written back
    as its `wire_attr`. Each subclass names both."""

    wire_attr: ClassVar[str]

    @staticmethod
    @abstractmethod
    def find(text: str, /) -> Any: ...

    def to_internal_value(self, data: Any) -> Any:
        return self.find(super().to_internal_value(data))

    def to_representation(self, value: Any) -> str:
        return str(getattr(value, self.wire_attr))


class TagKeyField(_LookupField):
    """A tag given as `facet:value`; validates to the Tag."""

    find = staticmethod(find_tag)
    wire_attr = "key"


class FacetNameField(_LookupField):
    """A facet given by name; validates to the TagGroup (400 "unknown facet")."""

    find = staticmethod(find_facet)
    wire_attr = "name"


# -- products ---------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id", read_only=True)
    category = serializers.CharField(source="category_path", read_only=True)
    # May be empty, which a URL field's schema would not allow.
    image_url = serializers.CharField(read_only=True)
    tags = serializers.SerializerMethodField(help_text="Approved tags, facet:value")

    class Meta:
        model = Product
        fields: ClassVar[list[str]] = [
            "id",
            "title",
            "description",
            "brand",
            "category",
            "attributes",
            "image_url",
            "language",
            "is_eval",
            "reviewed_at",
            "tags_updated_at",
            "created_at",
            "updated_at",
            "tags",
        ]
        read_only_fields = fields

    def get_tags(self, product: Product) -> list[str]:
        rows = getattr(product, "approved_rows", None)
        if rows is None:
            rows = (
                product.product_tags.filter(state=ProductTag.State.APPROVED)
                .select_related("tag__group")
                .order_by("tag__group__position", "tag__group__name", "tag__name")
            )
        return [row.tag.key for row in rows]


class ProductFieldsSerializer(serializers.Serializer):
    """A product row as the import reads it; the import cleans and validates it."""

    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    brand = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(
        required=False, allow_blank=True, help_text='Category path, "A > B > C"'
    )
    attributes = serializers.DictField(required=False)
    image_url = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(
        required=False, allow_blank=True, help_text="Detected when absent"
    )
    tags = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Imported tags, facet:value; absent keeps the product's imported tags",
    )


class ProductCreateSerializer(ProductFieldsSerializer):
    id = serializers.CharField(help_text="Your external id")


class ProductPatchSerializer(ProductFieldsSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False


class BulkProductsSerializer(serializers.Serializer):
    products = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=10_000,
        help_text="Product rows (the fields of a product create); each is validated by the import",
    )
    keep_valid = serializers.BooleanField(
        default=False, help_text="Write the valid rows even when some are rejected"
    )


class BulkProductsDocSerializer(serializers.Serializer):
    """BulkProductsSerializer as documented: rows have the product create fields."""

    products = ProductCreateSerializer(many=True)
    keep_valid = serializers.BooleanField(default=False)


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="0-based position in products; null for the request"
    )
    reason = serializers.CharField()


class ImportOutcomeSerializer(serializers.Serializer):
    batch = serializers.IntegerField(help_text="The ImportBatch recording this request")
    succeeded = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class
    errors_omitted = serializers.IntegerField(
        help_text="Row errors counted but not listed (past TAGGER_IMPORT_MAX_ERRORS)"
    )
    detail = serializers.CharField(required=False, help_text="Why nothing was saved")


# -- review ---------------------------------------------------------------------------


class TagViewSerializer(serializers.Serializer):
    """One tag as a reviewer sees it (annotation.services.review.TagView)."""

    tag_id = serializers.IntegerField()
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class
    label_zh = serializers.CharField()
    facet = serializers.CharField()
    facet_label = serializers.CharField()
    single_valued = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True)
    suggested = serializers.BooleanField()
    selected = serializers.BooleanField()
    state = serializers.CharField(allow_null=True)
    evidence = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "array",
            "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        }
    )
    def get_evidence(self, view: Any) -> list[list[int]]:
        return [[start, end] for start, end in view.evidence]


# -- taxonomy -------------------------------------------------------------------------


class FacetSerializer(serializers.ModelSerializer):
    class Meta:
        model = TagGroup
        fields: ClassVar[list[str]] = [
            "id",
            "name",
            "display_name_en",
            "display_name_zh",
            "description",
            "multi_valued",
            "position",
        ]
        read_only_fields: ClassVar[list[str]] = ["id"]
        # Uniqueness (case-insensitive) and the rule for facet names
        # (taxonomy.check_facet_name) are the taxonomy service's to decide.
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {
            "name": {
                "validators": [],
                "help_text": "Letters (any script) and digits, with single spaces, _, - or / "
                "between words, and no other punctuation (it is the first half of every "
                "facet:value key); a new facet's name that breaks this is a 400. A facet "
                "cannot be renamed.",
            }
        }


class TagSerializer(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    facet = serializers.CharField(source="group.name", read_only=True)
    aliases = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Tag
        fields: ClassVar[list[str]] = [
            "id",
            "key",
            "facet",
            "name",
            "display_name_en",
            "display_name_zh",
            "aliases",
            "description",
            "status",
            "merged_into",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TagDetailSerializer(TagSerializer):
    affected_products = serializers.SerializerMethodField(
        help_text="Products carrying a decision about this tag"
    )

    class Meta(TagSerializer.Meta):
        fields: ClassVar[list[str]] = [*TagSerializer.Meta.fields, "affected_products"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_affected_products(self, tag: Tag) -> int:
        from annotation.services.taxonomy import affected_products

        return affected_products(tag)
