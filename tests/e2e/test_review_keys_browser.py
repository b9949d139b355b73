"""Issue #13 in a real Chromium: every listed tag has a key (a letter after 1-9),
the tag panel scrolls inside itself instead of running under the submit bar, and
a tag the reviewer never saw is not recorded as their rejection."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from annotation.models import Product, ProductTag, Tag
from tests.annotation.ui_catalog import enqueue, suggest
from tests.e2e.test_review_browser import (  # noqa: F401  (fixtures)
    log_in,
    page,
    wait_for_title,
)
from tests.factories import ModelVersionFactory, ProductFactory, TagFactory, TagGroupFactory
from training.models import ModelVersion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def many_tags(facets: int, per_facet: int, scores: tuple[float, ...]) -> tuple[Product, list[Tag]]:
    """One queued product with `facets` multi-valued facets of `per_facet` tags,
    scored by an active trained version with `scores` in each facet."""
    tags = [
        TagFactory(group=group, name=f"{group.name}-{j}")
        for i in range(facets)
        for group in [TagGroupFactory(name=f"facet{i:02d}", position=i)]
        for j in range(per_facet)
    ]
    keys = [t.key for t in tags]
    version = ModelVersionFactory(
        mode=ModelVersion.Mode.HEAD,
        status=ModelVersion.Status.ACTIVE,
        thresholds=dict.fromkeys(keys, 0.5),
        tag_vocab=keys,
    )
    product = ProductFactory(title="A product with many tags")
    for n, tag in enumerate(tags):
        suggest(product, tag, version, scores[n % per_facet])
    enqueue(product, 1.0)
    return product, tags


def states(product: Product) -> dict[int, str]:
    return dict(ProductTag.objects.filter(product=product).values_list("tag_id", "state"))


def test_the_twelfth_tag_has_a_key(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    product, tags = many_tags(12, 1, (0.95,))
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, product.title)
    twelfth = page.locator(f"#tag-{tags[11].pk}")
    expect(twelfth).to_be_checked()
    expect(page.locator(f"label[for=tag-{tags[11].pk}] kbd")).to_have_text("c")

    page.keyboard.press("c")
    expect(twelfth).not_to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#review-status")).to_contain_text("Saved")

    decided = states(product)
    assert decided[tags[11].pk] == "rejected"
    assert [decided[t.pk] for t in tags[:11]] == ["approved"] * 11


@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)])
def test_the_tag_panel_scrolls_inside_itself_and_unseen_tags_are_not_rejected(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
    size: tuple[int, int],
) -> None:
    product, tags = many_tags(12, 3, (0.95, 0.6, 0.3))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, product.title)

    submit = page.locator("[data-submit]").bounding_box()
    scroller = page.locator("[data-tag-scroll]").bounding_box()
    assert submit is not None
    assert scroller is not None
    assert submit["y"] + submit["height"] <= size[1]  # the submit bar is on screen
    assert scroller["y"] + scroller["height"] <= submit["y"]  # no tag under it
    # 36 rows do not fit: the list scrolls inside itself, the page does not.
    overflow = page.evaluate(
        "() => { const s = document.querySelector('[data-tag-scroll]');"
        " return s.scrollHeight > s.clientHeight; }"
    )
    assert overflow
    visible = set(
        page.evaluate(
            "() => { const s = document.querySelector('[data-tag-scroll]').getBoundingClientRect();"
            " return [...document.querySelectorAll('[data-tag-row]')].filter((r) => {"
            " const b = r.getBoundingClientRect(); return b.top >= s.top - 1 && b.bottom <= s.bottom + 1; })"
            ".map((r) => Number(r.dataset.tagRow)); }"
        )
    )
    assert 0 < len(visible) < len(tags)

    page.keyboard.press("Enter")
    expect(page.locator("#review-status")).to_contain_text("Saved")

    decided = states(product)
    rejected = {tag_id for tag_id, state in decided.items() if state == "rejected"}
    assert rejected  # the unticked tags the reviewer saw
    assert rejected <= visible  # none they could not see
