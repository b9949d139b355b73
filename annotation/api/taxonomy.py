"""Facets and tags: reviewers read them; admins add, edit, merge and deprecate
through the taxonomy service (which cleans names and keeps the history)."""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.base import (
    GenericApiView,
    ListApiView,
    SlugField,
    bad_request,
    validated,
)
from annotation.api.permissions import IsTaggerAdmin, ReviewerReadsAdminWrites
from annotation.api.serializers import (
    FacetNameField,
    FacetSerializer,
    TagDetailSerializer,
    TagSerializer,
)
from annotation.errors import TaxonomyError
from annotation.models import Tag, TagGroup
from annotation.roles import signed_in
from annotation.services import taxonomy as taxonomy_service
from training.ml.text import clean_text

_TAG_TEXT_FIELDS = ("display_name_en", "display_name_zh", "description")


def _import(facet: dict[str, Any]) -> None:
    """One facet (and its tags) through import_taxonomy; TaxonomyError becomes a 400."""
    try:
        taxonomy_service.import_taxonomy({"facets": [facet]})
    except TaxonomyError as exc:
        raise bad_request(str(exc)) from exc


# -- facets ---------------------------------------------------------------------------


class FacetListView(ListApiView):
    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = FacetSerializer
    queryset = TagGroup.objects.all()
    ordering = ("id",)

    @extend_schema(request=FacetSerializer, responses={201: FacetSerializer})
    def post(self, request: Request) -> Response:
        data = validated(FacetSerializer, request.data)
        name = clean_text(data["name"])
        try:
            taxonomy_service.check_facet_name(name)
        except TaxonomyError as exc:
            raise serializers.ValidationError({"name": [str(exc)]}) from exc
        if taxonomy_service.facet_named(name) is not None:
            raise serializers.ValidationError({"name": [f"a facet named {name!r} exists"]})
        with transaction.atomic():
            _import(dict(data))
            group = taxonomy_service.facet_named(name)
            assert group is not None  # just imported
        return Response(FacetSerializer(group).data, status=status.HTTP_201_CREATED)


class FacetDetailView(GenericApiView):
    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = FacetSerializer
    queryset = TagGroup.objects.all()

    def get(self, request: Request, pk: int) -> Response:
        return Response(FacetSerializer(self.get_object()).data)

    @extend_schema(request=FacetSerializer(partial=True), responses=FacetSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        group = self.get_object()
        data = dict(validated(FacetSerializer, request.data, partial=True))
        name = data.pop("name", None)
        if name is not None and clean_text(name).casefold() != group.name.casefold():
            raise serializers.ValidationError({"name": ["a facet cannot be renamed"]})
        _import({"name": group.name, **data})
        group.refresh_from_db()
        return Response(FacetSerializer(group).data)


# -- tags -----------------------------------------------------------------------------


class TagQuerySerializer(serializers.Serializer):
    facet = FacetNameField(
        required=False, help_text="Facet name (any case); an unknown one is a 400"
    )
    status = serializers.ChoiceField(choices=Tag.Status.choices, required=False)
    q = serializers.CharField(required=False, max_length=200, help_text="Part of the name")


class TagCreateSerializer(serializers.Serializer):
    facet = SlugField(slug_field="name", queryset=TagGroup.objects.all())
    name = serializers.CharField(max_length=200)
    display_name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    display_name_zh = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    aliases = serializers.ListField(child=serializers.CharField(), required=False)


class TagPatchSerializer(serializers.Serializer):
    name = serializers.CharField(
        required=False, max_length=200, help_text="Rename; the old name becomes an alias"
    )
    display_name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    display_name_zh = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    aliases = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Replaces the aliases"
    )


def _checked(change: Callable[[], object]) -> None:
    """Run a rename or alias edit; TaxonomyError becomes a 400 (call inside the
    request's transaction so earlier edits roll back)."""
    try:
        change()
    except TaxonomyError as exc:
        raise bad_request(str(exc)) from exc


@extend_schema_view(get=extend_schema(parameters=[TagQuerySerializer]))
class TagListView(ListApiView):
    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = TagSerializer
    queryset = Tag.objects.select_related("group")
    ordering = ("id",)

    def filter_queryset(  # type: ignore[override]  # model rows only, never .values() rows
        self, queryset: QuerySet[Tag]
    ) -> QuerySet[Tag]:
        query = validated(TagQuerySerializer, self.request.query_params)
        if "facet" in query:
            queryset = queryset.filter(group=query["facet"])
        if query.get("status"):
            queryset = queryset.filter(status=query["status"])
        if query.get("q"):
            queryset = queryset.filter(name__icontains=query["q"])
        return queryset

    @extend_schema(request=TagCreateSerializer, responses={201: TagDetailSerializer})
    def post(self, request: Request) -> Response:
        data = validated(TagCreateSerializer, request.data)
        group: TagGroup = data["facet"]
        name = clean_text(data["name"])
        if taxonomy_service.tag_named(group, name) is not None:
            raise serializers.ValidationError(
                {"name": [f"the facet {group.name!r} already has a tag named {name!r}"]}
            )
        spec = {"name": data["name"], **{k: data[k] for k in _TAG_TEXT_FIELDS if k in data}}
        with transaction.atomic():
            _import({"name": group.name, "tags": [spec]})
            tag = taxonomy_service.tag_named(group, name)
            assert tag is not None  # just imported
            if data.get("aliases"):
                _checked(
                    lambda: taxonomy_service.set_aliases(
                        tag, data["aliases"], user=signed_in(request.user)
                    ),
                )
        return Response(TagDetailSerializer(tag).data, status=status.HTTP_201_CREATED)


class TagDetailView(GenericApiView):
    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = TagDetailSerializer
    queryset = Tag.objects.select_related("group")

    def get(self, request: Request, pk: int) -> Response:
        return Response(TagDetailSerializer(self.get_object()).data)

    @extend_schema(request=TagPatchSerializer, responses=TagDetailSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        tag = self.get_object()
        data = validated(TagPatchSerializer, request.data)
        texts = {k: data[k] for k in _TAG_TEXT_FIELDS if k in data}
        with transaction.atomic():
            if texts:
                _import({"name": tag.group.name, "tags": [{"name": tag.name, **texts}]})
            if "aliases" in data:
                _checked(
                    lambda: taxonomy_service.set_aliases(
                        tag, data["aliases"], user=signed_in(request.user)
                    ),
                )
            if "name" in data:
                _checked(
                    lambda: taxonomy_service.rename_tag(
                        tag,
                        data["name"],
                        user=signed_in(request.user),
                        display_name_en=texts.get("display_name_en"),
                    )
                )
        return Response(TagDetailSerializer(self.get_queryset().get(pk=tag.pk)).data)


class MergeSerializer(serializers.Serializer):
    into = serializers.PrimaryKeyRelatedField(
        queryset=Tag.objects.select_related("group"), help_text="The surviving tag's id"
    )


class MergedSerializer(serializers.Serializer):
    tag = TagSerializer(help_text="The merged tag, now deprecated")
    into = TagSerializer()
    affected_products = serializers.IntegerField(help_text="Products whose decisions moved")
    moved = serializers.IntegerField()
    folded = serializers.IntegerField(help_text="Products that carried both tags")
    events_moved = serializers.IntegerField()
    suggestions_moved = serializers.IntegerField()
    suggestions_dropped = serializers.IntegerField()


class DeprecatedSerializer(serializers.Serializer):
    tag = TagSerializer()
    affected_products = serializers.IntegerField(
        help_text="Products with decisions about the tag (kept as they were)"
    )
    suggestions_withdrawn = serializers.IntegerField()


class TagMergeView(GenericApiView):
    """Fold this tag into another of the same facet: decisions, history and
    suggestions move; this tag is deprecated and its names become aliases."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = MergeSerializer
    queryset = Tag.objects.select_related("group")

    @extend_schema(request=MergeSerializer, responses=MergedSerializer)
    def post(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        into: Tag = validated(MergeSerializer, request.data)["into"]
        affected = taxonomy_service.affected_products(source)
        try:
            result = taxonomy_service.merge_tags(source, into, user=signed_in(request.user))
        except TaxonomyError as exc:
            raise bad_request(str(exc)) from exc
        body = {
            "tag": self.get_queryset().get(pk=source.pk),
            "into": self.get_queryset().get(pk=into.pk),
            "affected_products": affected,
            "moved": result.moved,
            "folded": result.folded,
            "events_moved": result.events_moved,
            "suggestions_moved": result.suggestions_moved,
            "suggestions_dropped": result.suggestions_dropped,
        }
        return Response(MergedSerializer(body).data)


class UnmergedSerializer(serializers.Serializer):
    tag = TagSerializer(help_text="The tag, active again")
    into = TagSerializer(help_text="The tag it had been merged into")
    complete = serializers.BooleanField(
        help_text="False for a merge made before merges were recorded in full: only the "
        "decisions it moved onto products without one went back"
    )
    moved_back = serializers.IntegerField(help_text="Decisions moved back to the tag")
    recreated = serializers.IntegerField(
        help_text="The tag's decisions the merge had folded into the other tag's, created again"
    )
    restored = serializers.IntegerField(
        help_text="The other tag's decisions the merge had replaced, restored"
    )
    kept = serializers.IntegerField(help_text="Decisions changed since the merge, left as they are")
    not_restorable = serializers.IntegerField(
        help_text="Folded decisions of an unrecorded merge, which cannot be told apart"
    )
    events_moved = serializers.IntegerField()
    suggestions_restored = serializers.IntegerField()


class TagUnmergeView(GenericApiView):
    """Undo the merge of this (merged) tag: it is active again and what the
    merge moved goes back to it; one review event (unmerge) per decision."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = UnmergedSerializer
    queryset = Tag.objects.select_related("group")

    @extend_schema(request=None, responses=UnmergedSerializer)
    def post(self, request: Request, pk: int) -> Response:
        tag = self.get_object()
        try:
            result = taxonomy_service.unmerge_tag(tag, user=signed_in(request.user))
        except TaxonomyError as exc:
            raise bad_request(str(exc)) from exc
        body = {
            "tag": self.get_queryset().get(pk=tag.pk),
            "into": self.get_queryset().get(pk=result.into.pk),
            "complete": result.complete,
            "moved_back": result.moved_back,
            "recreated": result.recreated,
            "restored": result.restored,
            "kept": result.kept,
            "not_restorable": result.not_restorable,
            "events_moved": result.events_moved,
            "suggestions_restored": result.suggestions_restored,
        }
        return Response(UnmergedSerializer(body).data)


class TagDeprecateView(GenericApiView):
    """Retire a tag: no longer proposed; past decisions stay."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = DeprecatedSerializer
    queryset = Tag.objects.select_related("group")

    @extend_schema(request=None, responses=DeprecatedSerializer)
    def post(self, request: Request, pk: int) -> Response:
        tag = self.get_object()
        try:
            withdrawn = taxonomy_service.deprecate_tag(tag, user=signed_in(request.user))
        except TaxonomyError as exc:
            raise bad_request(str(exc)) from exc
        body = {
            "tag": self.get_queryset().get(pk=tag.pk),
            "affected_products": taxonomy_service.affected_products(tag),
            "suggestions_withdrawn": withdrawn,
        }
        return Response(DeprecatedSerializer(body).data)
