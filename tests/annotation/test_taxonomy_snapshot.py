"""The review path's per-process copy of the taxonomy: read once, used until
any process changes a tag, a facet or a category rule, never ahead of or
behind the last commit. Committed transactions (transactional_db), as in
production, where the copy is kept."""

import pytest
from django.core.cache import cache
from django.db import transaction

from annotation.models import CategoryFacet, Tag
from annotation.services import generations, process_copy
from annotation.services.taxonomy import categories, snapshot
from tests.factories import TagFactory, TagGroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def colour() -> Tag:
    cache.clear()
    group = TagGroupFactory(name="color", position=1)
    return TagFactory(group=group, name="red")


def test_a_kept_copy_reads_no_rows(colour: Tag, django_assert_num_queries) -> None:
    first = snapshot.current()
    assert first.tags[colour.pk].key == "color:red"
    with django_assert_num_queries(0):
        again = snapshot.current()
        assert again is first
        assert again.tags[colour.pk].group.name == "color"  # the group is attached


def test_a_saved_tag_shows_on_the_next_read(colour: Tag) -> None:
    snapshot.current()
    colour.display_name_zh = "红色"
    colour.save()
    assert snapshot.current().tags[colour.pk].display_name_zh == "红色"


def test_a_change_in_another_process_is_seen(colour: Tag) -> None:
    """Another process renews the shared token (its signal) after writing."""
    kept = snapshot.current()
    Tag.objects.filter(pk=colour.pk).update(display_name_en="Crimson")  # no signal here
    assert snapshot.current() is kept  # nothing said it changed: the copy stands
    cache.set(snapshot.GENERATION_KEY, "another process's token")
    assert snapshot.current().tags[colour.pk].display_name_en == "Crimson"


def test_marking_the_category_facet_is_seen(colour: Tag) -> None:
    """A queryset update, which sends no signal, renews the token itself."""
    assert snapshot.current().category_facet is None
    categories.mark_category_facet(colour.group, True)
    assert snapshot.current().category_facet == colour.group


def test_category_rules_and_their_removal_are_seen(colour: Tag) -> None:
    kind = TagGroupFactory(name="category", position=0)
    bags = TagFactory(group=kind, name="bags")
    assert snapshot.current().overrides == {}
    categories.set_category_rule(bags, colour.group, False, None)
    assert snapshot.current().overrides == {"category:bags": {"color": False}}
    categories.set_category_rule(bags, colour.group, None, None)
    assert snapshot.current().overrides == {}
    assert not CategoryFacet.objects.exists()


def _rename_and_roll_back(tag: Tag) -> None:
    with transaction.atomic():
        tag.name = "scarlet"
        tag.save()
        # Its own transaction reads its own change ...
        assert snapshot.current().tags[tag.pk].name == "scarlet"
        raise RuntimeError("rolled back")


def test_an_uncommitted_change_is_neither_kept_nor_left_behind(colour: Tag) -> None:
    snapshot.current()
    with pytest.raises(RuntimeError, match="rolled back"):
        _rename_and_roll_back(colour)
    # ... and after the rollback nobody reads it.
    assert snapshot.current().tags[colour.pk].name == "red"
    assert snapshot.current().tags[colour.pk].name == "red"


def test_a_committed_change_renews_the_token_at_commit(colour: Tag) -> None:
    snapshot.current()
    with transaction.atomic():
        colour.name = "scarlet"
        colour.save()
        during = cache.get(snapshot.GENERATION_KEY)
        # A process reading now still gets the committed taxonomy, and keeps it ...
        cache.set(snapshot.GENERATION_KEY, during)
    # ... until the commit renews the token once more.
    assert cache.get(snapshot.GENERATION_KEY) != during
    assert snapshot.current().tags[colour.pk].name == "scarlet"


def test_shared_names_count_active_tags_only(colour: Tag) -> None:
    other = TagGroupFactory(name="pattern", position=2)
    twin = TagFactory(group=other, name="Red")
    assert snapshot.current().shared_names == {"red"}
    twin.status = Tag.Status.DEPRECATED
    twin.save()
    assert snapshot.current().shared_names == frozenset()


def test_without_a_cache_answer_the_database_is_read(
    colour: Tag, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot.current()

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(generations.cache, "get", down)
    Tag.objects.filter(pk=colour.pk).update(display_name_en="Crimson")
    assert snapshot.current().tags[colour.pk].display_name_en == "Crimson"


def test_a_copy_is_read_again_after_its_max_age(
    colour: Tag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change whose token renewal the cache missed still shows, within a minute."""
    kept = snapshot.current()
    Tag.objects.filter(pk=colour.pk).update(display_name_en="Crimson")  # no renewal
    assert snapshot.current() is kept
    later = process_copy.time.monotonic() + process_copy.MAX_AGE_SECONDS + 1
    monkeypatch.setattr(process_copy.time, "monotonic", lambda: later)
    assert snapshot.current().tags[colour.pk].display_name_en == "Crimson"
