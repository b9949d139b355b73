"""Taxonomy operations and what they do to decisions, history and suggestions."""

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from annotation.errors import TaxonomyError
from annotation.models import Product, ProductTag, ReviewEvent, Suggestion, Tag, TagGroup
from annotation.services import taxonomy
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    ReviewEventFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
)

pytestmark = pytest.mark.django_db
State = ProductTag.State
Source = ProductTag.Source
Action = ReviewEvent.Action


class World:
    """Two colour tags about to be merged, a product carrying each, one
    carrying both, and a zero-shot model's suggestions."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.color = TagGroupFactory(name="color")
        self.size = TagGroupFactory(name="size")
        self.navy = TagFactory(group=self.color, name="Navy", aliases=["marine"])
        self.blue = TagFactory(group=self.color, name="Blue", aliases=["azure"])
        self.large = TagFactory(group=self.size, name="Large")
        self.version = ModelVersionFactory(mode="zero_shot", base_model="x", status="ready")
        self.only_navy = ProductFactory(external_id="only-navy", title="only-navy")
        self.both = ProductFactory(external_id="both", title="both")
        self.decide(self.only_navy, self.navy, State.APPROVED, Source.IMPORT)
        # On `both`, the navy decision is a human's, the blue one automatic.
        self.decide(self.both, self.navy, State.APPROVED, Source.HUMAN)
        self.decide(self.both, self.blue, State.REJECTED, Source.AUTO)
        self.suggest(self.only_navy, self.navy, 0.8)
        self.suggest(self.both, self.navy, 0.9)
        self.suggest(self.both, self.blue, 0.4)

    def decide(self, product: Product, tag: Tag, state: str, source: str) -> ProductTag:
        ReviewEventFactory(
            user=self.user, product=product, tag=tag, action=Action.ACCEPT, new_state=state
        )
        return ProductTagFactory(
            product=product,
            tag=tag,
            state=state,
            source=source,
            decided_by=self.user if source == Source.HUMAN else None,
            decided_at=timezone.now(),
        )

    def suggest(self, product: Product, tag: Tag, score: float) -> Suggestion:
        return SuggestionFactory(product=product, tag=tag, model_version=self.version, score=score)


@pytest.fixture
def world(make_user: object) -> World:
    return World(make_user("ada"))  # type: ignore[operator]


# -- merge ---------------------------------------------------------------------------


def test_merge_moves_decisions_keeping_the_more_authoritative(world: World) -> None:
    result = taxonomy.merge_tags(world.navy, world.blue, user=world.user)

    assert (result.moved, result.folded) == (1, 1)
    assert not ProductTag.objects.filter(tag=world.navy).exists()
    moved = ProductTag.objects.get(product=world.only_navy, tag=world.blue)
    assert (moved.state, moved.source) == (State.APPROVED, Source.IMPORT)
    # The human's approval beats the automatic rejection.
    kept = ProductTag.objects.get(product=world.both, tag=world.blue)
    assert (kept.state, kept.source, kept.decided_by) == (State.APPROVED, Source.HUMAN, world.user)


def test_merge_keeps_the_targets_decision_when_it_is_more_authoritative(world: World) -> None:
    ProductTag.objects.filter(product=world.both, tag=world.blue).update(source=Source.HUMAN)
    ProductTag.objects.filter(product=world.both, tag=world.navy).update(source=Source.AUTO)

    taxonomy.merge_tags(world.navy, world.blue, user=world.user)

    kept = ProductTag.objects.get(product=world.both, tag=world.blue)
    assert (kept.state, kept.source) == (State.REJECTED, Source.HUMAN)


def test_merge_moves_history_and_records_a_merge_event_per_decision(world: World) -> None:
    result = taxonomy.merge_tags(world.navy, world.blue, user=world.user)

    assert result.events_moved == 2
    assert not ReviewEvent.objects.filter(tag=world.navy).exists()
    merges = ReviewEvent.objects.filter(action=Action.MERGE, tag=world.blue)
    assert {(e.product_id, e.previous_state, e.new_state) for e in merges} == {
        (world.only_navy.pk, "", State.APPROVED),
        (world.both.pk, State.REJECTED, State.APPROVED),
    }
    assert all(e.user == world.user for e in merges)
    assert ReviewEvent.objects.filter(tag=world.blue, action=Action.ACCEPT).count() == 3


def test_merge_moves_suggestions_keeping_the_higher_score(world: World) -> None:
    result = taxonomy.merge_tags(world.navy, world.blue, user=world.user)

    assert (result.suggestions_moved, result.suggestions_dropped) == (1, 1)
    assert not Suggestion.objects.filter(tag=world.navy).exists()
    scores = dict(Suggestion.objects.filter(tag=world.blue).values_list("product_id", "score"))
    assert scores == {world.only_navy.pk: 0.8, world.both.pk: 0.9}


def test_merge_deprecates_the_source_and_keeps_its_names_as_aliases(world: World) -> None:
    taxonomy.merge_tags(world.navy, world.blue, user=world.user)

    world.navy.refresh_from_db()
    world.blue.refresh_from_db()
    assert (world.navy.status, world.navy.merged_into) == (Tag.Status.DEPRECATED, world.blue)
    assert world.blue.aliases == ["azure", "Navy", "marine"]


def test_merging_a_tag_into_itself_is_refused(world: World) -> None:
    with pytest.raises(TaxonomyError, match="cannot be merged into itself"):
        taxonomy.merge_tags(world.navy, world.navy, user=world.user)


def test_merging_across_facets_is_refused_and_changes_nothing(world: World) -> None:
    with pytest.raises(TaxonomyError, match="belong to different facets"):
        taxonomy.merge_tags(world.navy, world.large, user=world.user)

    world.navy.refresh_from_db()
    assert world.navy.is_active
    assert ProductTag.objects.filter(tag=world.navy).count() == 2


def test_merging_into_a_deprecated_tag_is_refused(world: World) -> None:
    taxonomy.deprecate_tag(world.blue, user=world.user)

    with pytest.raises(TaxonomyError, match="merge into an active tag"):
        taxonomy.merge_tags(world.navy, world.blue, user=world.user)


def test_merging_chains_repoint_earlier_merges(world: World) -> None:
    teal = TagFactory(group=world.color, name="Teal")
    taxonomy.merge_tags(teal, world.navy, user=world.user)

    taxonomy.merge_tags(world.navy, world.blue, user=world.user)

    teal.refresh_from_db()
    assert teal.merged_into == world.blue


def test_affected_products_counts_decisions_on_the_tag(world: World) -> None:
    assert taxonomy.affected_products(world.navy) == 2
    assert taxonomy.affected_products(world.large) == 0


# -- rename, aliases, deprecate ------------------------------------------------------


def test_rename_keeps_decisions_and_makes_the_old_name_an_alias(world: World) -> None:
    taxonomy.rename_tag(world.navy, "Navy Blue", user=world.user)

    world.navy.refresh_from_db()
    assert world.navy.name == "Navy Blue"
    assert world.navy.aliases == ["marine", "Navy"]
    assert ProductTag.objects.filter(tag=world.navy).count() == 2
    assert ReviewEvent.objects.filter(tag=world.navy).count() == 2
    assert Suggestion.objects.filter(tag=world.navy).count() == 2


def test_rename_marks_the_products_for_the_export(world: World) -> None:
    taxonomy.rename_tag(world.navy, "Navy Blue", user=world.user)

    touched = Product.objects.filter(tags_updated_at__isnull=False)
    assert set(touched.values_list("external_id", flat=True)) == {"only-navy", "both"}


def test_rename_to_another_tags_name_is_refused(world: World) -> None:
    with pytest.raises(TaxonomyError, match="already has a tag named 'Blue'"):
        taxonomy.rename_tag(world.navy, "blue", user=world.user)


def test_rename_refuses_a_colon(world: World) -> None:
    with pytest.raises(TaxonomyError, match="contains ':'"):
        taxonomy.rename_tag(world.navy, "color:Navy", user=world.user)


def test_set_aliases_cleans_and_refuses_a_name_that_leads_elsewhere(world: World) -> None:
    assert taxonomy.set_aliases(world.navy, [" dark  blue ", "Dark Blue", "navy", ""]) == [
        "dark blue"
    ]
    with pytest.raises(TaxonomyError, match="already leads to the tag 'Blue'"):
        taxonomy.set_aliases(world.navy, ["azure"])


def test_deprecate_keeps_decisions_and_history_and_withdraws_suggestions(world: World) -> None:
    withdrawn = taxonomy.deprecate_tag(world.navy, user=world.user)

    world.navy.refresh_from_db()
    assert world.navy.status == Tag.Status.DEPRECATED
    assert world.navy.merged_into is None
    assert withdrawn == 2
    assert not Suggestion.objects.filter(tag=world.navy).exists()
    assert ProductTag.objects.filter(tag=world.navy).count() == 2
    assert ReviewEvent.objects.filter(tag=world.navy).count() == 2


def test_deprecating_twice_is_refused(world: World) -> None:
    taxonomy.deprecate_tag(world.navy, user=world.user)

    with pytest.raises(TaxonomyError, match="already deprecated"):
        taxonomy.deprecate_tag(world.navy, user=world.user)


# -- import ----------------------------------------------------------------------------


DOCUMENT = {
    "facets": [
        {
            "name": "color",
            "display_name_en": "Colour",
            "display_name_zh": "颜色",
            "multi_valued": False,
            "description": "Main colour",
            "tags": [
                {"name": "Red", "display_name_zh": "红色", "aliases": ["crimson", "red"]},
                {"name": "Blue", "aliases": []},
            ],
        },
        {"name": "功效", "tags": [{"name": "补水"}]},
    ]
}


def test_import_taxonomy_creates_facets_and_tags() -> None:
    result = taxonomy.import_taxonomy(DOCUMENT)

    assert (result.facets_created, result.tags_created) == (2, 3)
    color = TagGroup.objects.get(name="color")
    assert (color.display_name_zh, color.multi_valued) == ("颜色", False)
    red = Tag.objects.get(group=color, name="Red")
    assert (red.display_name_zh, red.aliases) == ("红色", ["crimson"])
    assert Tag.objects.filter(group__name="功效", name="补水").exists()


def test_import_taxonomy_twice_changes_nothing() -> None:
    taxonomy.import_taxonomy(DOCUMENT)

    result = taxonomy.import_taxonomy(DOCUMENT)

    assert result == taxonomy.TaxonomyResult()


def test_import_taxonomy_updates_only_what_the_file_says() -> None:
    taxonomy.import_taxonomy(DOCUMENT)
    Tag.objects.filter(name="Blue").update(description="kept")
    changed = {"facets": [{"name": "COLOR", "tags": [{"name": "blue", "aliases": ["navy"]}]}]}

    result = taxonomy.import_taxonomy(changed)

    assert (result.facets_updated, result.tags_updated, result.tags_created) == (0, 1, 0)
    blue = Tag.objects.get(name="Blue")
    assert (blue.aliases, blue.description) == (["navy"], "kept")


def test_import_taxonomy_writes_nothing_when_a_later_facet_is_malformed() -> None:
    bad = {"facets": [{"name": "color", "tags": ["Red"]}, {"name": "size:S"}]}

    with pytest.raises(TaxonomyError, match="contains ':'"):
        taxonomy.import_taxonomy(bad)

    assert TagGroup.objects.count() == 0


def test_the_import_taxonomy_command_reports_counts(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(DOCUMENT, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()

    call_command("import_taxonomy", str(path), stdout=out)

    assert "facets: 2 created, 0 updated; tags: 3 created, 0 updated" in out.getvalue()


def test_the_import_taxonomy_command_explains_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.json"
    path.write_text('{"facets": [', encoding="utf-8")

    with pytest.raises(CommandError, match=r"not valid JSON.*nothing was saved"):
        call_command("import_taxonomy", str(path), stdout=io.StringIO())


RULE = "is not a valid facet name: use letters (any script) and digits"


@pytest.mark.parametrize("name", ["colour!", "-size", "size/", "a__b", "col.or", "a - b"])
def test_import_taxonomy_refuses_a_new_facet_against_the_facet_name_rule(name: str) -> None:
    bad = {"facets": [{"name": "color", "tags": ["Red"]}, {"name": name, "tags": ["x"]}]}

    with pytest.raises(TaxonomyError) as refused:
        taxonomy.import_taxonomy(bad)

    assert str(refused.value).startswith(f"“{name}” {RULE}")
    assert TagGroup.objects.count() == 0


def test_import_taxonomy_keeps_updating_a_facet_named_before_the_rule() -> None:
    TagGroupFactory(name="colour (main)")
    old = {"facets": [{"name": "Colour (Main)", "description": "kept", "tags": ["Red"]}]}

    result = taxonomy.import_taxonomy(old)

    assert (result.facets_created, result.facets_updated, result.tags_created) == (0, 1, 1)
    assert TagGroup.objects.get().description == "kept"


def test_import_taxonomy_accepts_the_shared_catalogues_facet_names() -> None:
    names = [
        "ideal for",
        "precious/artificial jewellery",
        "一级类目",
        "适用对象",
        "size_eu",
        "t-shirt",
    ]

    result = taxonomy.import_taxonomy({"facets": [{"name": n} for n in names]})

    assert result.facets_created == len(names)


def test_the_import_taxonomy_command_names_the_facet_name_rule(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps({"facets": [{"name": "colour!"}]}), encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        call_command("import_taxonomy", str(path), stdout=io.StringIO())

    assert str(refused.value) == (
        f"{path}: “colour!” is not a valid facet name: use letters (any script) and digits, "
        "with single spaces, _, - or / between words, and no other punctuation; "
        "nothing was saved"
    )
    assert not TagGroup.objects.exists()
