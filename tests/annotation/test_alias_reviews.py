"""How a tag's name and aliases fared in review (taxonomy.alias_reviews), and the
tag page that shows it: an alias that misleads is found from the reviewers'
decisions, with examples of where it stood."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from annotation.models import ProductTag, Tag
from annotation.services.taxonomy.alias_reviews import alias_reviews
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
)

pytestmark = pytest.mark.django_db

BAG = "鹿野 木乃伊睡袋 藏青色 搭配白鸭绒填充，露营过夜好搭档"


def white() -> Tag:
    return TagFactory(
        group=TagGroupFactory(name="color"),
        name="White",
        display_name_zh="白色",
        aliases=["white", "白"],
    )


def suggest(tag: Tag, title: str, form: str, state: str | None, version: object) -> None:
    product = ProductFactory(title=title)
    start = product.model_text.index(form)
    SuggestionFactory(
        product=product, tag=tag, model_version=version, evidence=[[start, start + len(form)]]
    )
    if state is not None:
        ProductTagFactory(product=product, tag=tag, state=state, source=ProductTag.Source.HUMAN)


@pytest.fixture
def catalogue() -> Tag:
    tag = white()
    version = ModelVersionFactory()
    for n in range(4):
        # 白 in 白鸭绒 ("white duck down"): rejected on three bags, one undecided
        state = ProductTag.State.REJECTED if n < 3 else None
        suggest(tag, f"{BAG} {n}", "白", state, version)
    suggest(tag, "白色 纯棉衬衫", "白色", ProductTag.State.APPROVED, version)
    suggest(tag, "White cotton shirt", "White", ProductTag.State.APPROVED, version)
    # Evidence that is no name of the tag (a word the trained model leaned on).
    suggest(tag, "纯棉衬衫 夏季", "衬衫", ProductTag.State.REJECTED, version)
    return tag


def test_each_form_is_counted_with_the_reviewers_decisions(catalogue: Tag) -> None:
    reviews = {r.form: r for r in alias_reviews(catalogue)}

    assert set(reviews) == {"白", "白色", "White"}
    bai = reviews["白"]
    assert (bai.proposed, bai.approved, bai.rejected, bai.misleads) == (4, 0, 3, True)
    assert [(s.match, s.after[:3]) for s in bai.rejected_examples] == [("白", "鸭绒填")] * 3
    assert (reviews["白色"].approved, reviews["白色"].misleads) == (1, False)
    # "White" and "white" are one form, written as the name is.
    assert (reviews["White"].proposed, reviews["White"].approved) == (1, 1)
    assert next(iter(alias_reviews(catalogue))).form == "白"  # the most rejected first


def test_only_the_latest_suggestion_of_a_product_counts(catalogue: Tag) -> None:
    product = ProductTag.objects.filter(tag=catalogue, state="rejected").first().product
    # A later version rests the same product's suggestion on no name.
    SuggestionFactory(
        product=product, tag=catalogue, model_version=ModelVersionFactory(), evidence=[[0, 2]]
    )

    reviews = {r.form: r for r in alias_reviews(catalogue)}

    assert (reviews["白"].proposed, reviews["白"].rejected) == (3, 2)


def test_it_reads_three_queries_however_many_products(catalogue: Tag) -> None:
    version = ModelVersionFactory()
    for n in range(30):
        suggest(catalogue, f"{BAG} more {n}", "白", ProductTag.State.REJECTED, version)

    with CaptureQueriesContext(connection) as queries:
        reviews = alias_reviews(catalogue)

    assert len(queries) == 3
    assert reviews[0].rejected == 33


def test_a_tag_without_evidence_has_nothing_to_show() -> None:
    tag = white()
    SuggestionFactory(tag=tag, evidence=[])

    assert alias_reviews(tag) == []


def test_the_tag_page_flags_the_misleading_alias_in_both_languages(
    client: Client, admin_user: User, catalogue: Tag
) -> None:
    client.force_login(admin_user)
    url = f"/taxonomy/tags/{catalogue.pk}/"

    english = client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(url).content.decode()

    assert 'data-form="白" class="misleads"' in english
    assert "often rejected" in english
    assert "搭配<mark>白</mark>鸭绒填充" in english
    assert "data-misleads-help" in english
    assert 'data-form="白色">' in english
    assert "常被拒绝" in chinese
    assert "名称和别名的审核情况" in chinese
