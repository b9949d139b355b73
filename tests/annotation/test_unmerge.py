"""Undoing a tag merge: what the merge moved goes back exactly, from its
record; merges made before the record existed go back as far as the audit
trail allows."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from annotation.errors import TaxonomyError
from annotation.models import (
    Product,
    ProductTag,
    ReviewEvent,
    Suggestion,
    Tag,
    TagMerge,
)
from annotation.services import taxonomy
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    ReviewEventFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
State = ProductTag.State
Source = ProductTag.Source
Action = ReviewEvent.Action


class World:
    """Navy about to be merged into Blue: one product carries only navy (an
    import), one carries both (navy a person's approval, blue the model's
    rejection: navy's wins the fold), one both the other way round (blue a
    person's, navy automatic: blue's stays), and a model's suggestions."""

    def __init__(self) -> None:
        self.ada = UserFactory(username="ada")
        self.rita = UserFactory(username="rita")
        self.color = TagGroupFactory(name="color")
        self.navy = TagFactory(group=self.color, name="Navy", aliases=["marine"])
        self.blue = TagFactory(group=self.color, name="Blue", aliases=["azure"])
        self.version = ModelVersionFactory(mode="zero_shot", status="ready")
        self.only_navy = ProductFactory(external_id="only-navy")
        self.navy_wins = ProductFactory(external_id="navy-wins")
        self.blue_wins = ProductFactory(external_id="blue-wins")
        earlier = timezone.now() - timedelta(days=3)
        self.decide(self.only_navy, self.navy, State.APPROVED, Source.IMPORT, None, earlier)
        self.decide(self.navy_wins, self.navy, State.APPROVED, Source.HUMAN, self.rita, earlier)
        self.decide(self.navy_wins, self.blue, State.REJECTED, Source.AUTO, None, earlier)
        self.decide(self.blue_wins, self.navy, State.APPROVED, Source.AUTO, None, earlier)
        self.decide(self.blue_wins, self.blue, State.REJECTED, Source.HUMAN, self.rita, earlier)
        self.suggest(self.only_navy, self.navy, 0.8)
        self.suggest(self.navy_wins, self.navy, 0.9)
        self.suggest(self.navy_wins, self.blue, 0.4)
        self.suggest(self.blue_wins, self.navy, 0.2)
        self.suggest(self.blue_wins, self.blue, 0.7)

    def decide(
        self,
        product: Product,
        tag: Tag,
        state: str,
        source: str,
        user: User | None,
        when: Any,
    ) -> None:
        ReviewEventFactory(
            user=user, product=product, tag=tag, action=Action.ACCEPT, new_state=state
        )
        ProductTagFactory(
            product=product,
            tag=tag,
            state=state,
            source=source,
            decided_by=user,
            decided_at=when,
            model_version=self.version if source == Source.AUTO else None,
            score=0.6 if source == Source.AUTO else None,
        )

    def suggest(self, product: Product, tag: Tag, score: float) -> None:
        SuggestionFactory(
            product=product,
            tag=tag,
            model_version=self.version,
            score=score,
            selected=score > 0.5,
            evidence=[[0, 3]] if score > 0.5 else [],
        )


@pytest.fixture
def world() -> World:
    return World()


def decisions() -> set[tuple[Any, ...]]:
    return set(
        ProductTag.objects.values_list(
            "product__external_id",
            "tag__name",
            "state",
            "source",
            "decided_by_id",
            "decided_at",
            "model_version_id",
            "score",
        )
    )


def history() -> set[tuple[int, int | None]]:
    """Every review event but the merge's and the unmerge's own, with its tag."""
    return set(
        ReviewEvent.objects.exclude(action__in=[Action.MERGE, Action.UNMERGE]).values_list(
            "pk", "tag_id"
        )
    )


def suggestions() -> set[tuple[Any, ...]]:
    return {
        (product, tag, version, score, selected, tuple(map(tuple, evidence)))
        for product, tag, version, score, selected, evidence in Suggestion.objects.values_list(
            "product_id", "tag_id", "model_version_id", "score", "selected", "evidence"
        )
    }


def tag_state(tag: Tag) -> tuple[Any, ...]:
    tag.refresh_from_db()
    return (tag.status, tag.merged_into_id, tag.aliases)


def test_an_unmerge_moves_back_exactly_what_the_merge_moved(world: World) -> None:
    # given
    before = (decisions(), history(), suggestions())
    tags_before = (tag_state(world.navy), tag_state(world.blue))
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)
    assert decisions() != before[0]
    # when
    result = taxonomy.unmerge_tag(world.navy, user=world.ada)
    # then
    assert (decisions(), history(), suggestions()) == before
    assert (tag_state(world.navy), tag_state(world.blue)) == tags_before
    assert result.complete
    assert (result.moved_back, result.recreated, result.restored, result.kept) == (1, 2, 1, 0)
    assert result.events_moved == 3
    assert TagMerge.objects.get().undone_by == world.ada


def test_an_unmerge_writes_an_audit_event_per_decision_restored(world: World) -> None:
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)

    taxonomy.unmerge_tag(world.navy, user=world.ada)

    events = ReviewEvent.objects.filter(action=Action.UNMERGE)
    assert {(e.product.external_id, e.tag.name, e.previous_state, e.new_state) for e in events} == {
        ("only-navy", "Navy", "", State.APPROVED),
        ("navy-wins", "Navy", "", State.APPROVED),
        ("blue-wins", "Navy", "", State.APPROVED),
        # Blue's own decision on navy-wins, which the fold had replaced.
        ("navy-wins", "Blue", State.APPROVED, State.REJECTED),
    }
    assert {e.note for e in events} == {"unmerged color:Navy from color:Blue"}
    assert all(e.user == world.ada for e in events)
    # The merge's own events stay on record.
    assert ReviewEvent.objects.filter(action=Action.MERGE).count() == 3


def test_a_decision_made_after_the_merge_is_kept(world: World) -> None:
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)
    # A reviewer decides blue on navy-wins after the merge.
    ProductTag.objects.filter(product=world.navy_wins, tag=world.blue).update(
        state=State.REJECTED, decided_by=world.ada, decided_at=timezone.now()
    )

    result = taxonomy.unmerge_tag(world.navy, user=world.ada)

    assert result.kept == 1
    kept = ProductTag.objects.get(product=world.navy_wins, tag=world.blue)
    assert (kept.state, kept.decided_by) == (State.REJECTED, world.ada)
    # Navy's own decision there comes back all the same.
    navy = ProductTag.objects.get(product=world.navy_wins, tag=world.navy)
    assert (navy.state, navy.source, navy.decided_by) == (State.APPROVED, Source.HUMAN, world.rita)


def test_the_products_are_marked_for_the_export(world: World) -> None:
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)
    Product.objects.update(tags_updated_at=None)

    taxonomy.unmerge_tag(world.navy, user=world.ada)

    assert not Product.objects.filter(tags_updated_at__isnull=True).exists()


def test_a_chain_of_merges_is_undone_from_the_last(world: World) -> None:
    teal = TagFactory(group=world.color, name="Teal")
    ProductTagFactory(product=ProductFactory(external_id="teal-only"), tag=teal)
    taxonomy.merge_tags(teal, world.navy, user=world.ada)
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)

    with pytest.raises(TaxonomyError, match="unmerge that first"):
        taxonomy.unmerge_tag(teal, user=world.ada)
    taxonomy.unmerge_tag(world.navy, user=world.ada)
    taxonomy.unmerge_tag(teal, user=world.ada)

    assert tag_state(teal)[:2] == (Tag.Status.ACTIVE, None)
    assert ProductTag.objects.get(product__external_id="teal-only").tag == teal
    assert tag_state(world.navy) == (Tag.Status.ACTIVE, None, ["marine"])


def test_after_an_unmerge_the_tag_can_be_merged_and_unmerged_again(world: World) -> None:
    before = decisions()
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)
    taxonomy.unmerge_tag(world.navy, user=world.ada)

    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)
    taxonomy.unmerge_tag(world.navy, user=world.ada)

    assert decisions() == before
    assert TagMerge.objects.filter(undone_at__isnull=True).count() == 0


def test_a_tag_that_is_not_merged_cannot_be_unmerged(world: World) -> None:
    with pytest.raises(TaxonomyError, match="is not merged"):
        taxonomy.unmerge_tag(world.navy, user=world.ada)

    taxonomy.deprecate_tag(world.navy, user=world.ada)
    with pytest.raises(TaxonomyError, match="is not merged"):
        taxonomy.unmerge_tag(world.navy, user=world.ada)


def test_a_merge_made_before_merges_were_recorded_goes_back_as_far_as_the_trail_allows(
    world: World,
) -> None:
    # given: a merge whose record is missing, as for merges made before TagMerge
    taxonomy.merge_tags(world.navy, world.blue, user=world.ada)
    TagMerge.objects.all().delete()
    # when
    result = taxonomy.unmerge_tag(world.navy, user=world.ada)
    # then: the decision that moved onto a product without one goes back...
    assert not result.complete
    assert (result.moved_back, result.not_restorable) == (1, 2)
    only = ProductTag.objects.get(product=world.only_navy)
    assert (only.tag, only.state, only.source) == (world.navy, State.APPROVED, Source.IMPORT)
    # ...the folded ones cannot be told apart and stay on blue
    assert not ProductTag.objects.filter(tag=world.navy).exclude(product=world.only_navy).exists()
    assert tag_state(world.navy) == (Tag.Status.ACTIVE, None, ["marine"])
    assert tag_state(world.blue)[2] == ["azure"]
    assert ReviewEvent.objects.filter(action=Action.UNMERGE).count() == 1


def test_a_merge_preview_counts_what_would_move(world: World) -> None:
    preview = taxonomy.merge_preview(world.navy, world.blue)

    assert (preview.moved, preview.folded, preview.replaced) == (1, 2, 1)
    assert (preview.events, preview.suggestions) == (3, 3)
    assert preview.aliases == ["Navy", "marine"]
    assert not TagMerge.objects.exists()


def test_a_merge_preview_refuses_what_the_merge_would(world: World) -> None:
    other = TagFactory(group=TagGroupFactory(name="size"), name="Large")

    with pytest.raises(TaxonomyError, match="different facets"):
        taxonomy.merge_preview(world.navy, other)
