"""Issue #13 in a real Chromium: undo reopens a product with the reviewer's own
decisions (their edits and added tags, not the model's pre-ticks), and the
history lists the last submissions to reopen, an empty one included."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from annotation.models import Product, ProductTag
from tests.e2e.test_review_browser import (  # noqa: F401  (fixtures)
    edit_wool_cotton_silk,
    page,
    review_catalog,
    wait_for_title,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def states(product: Product) -> dict[str, str]:
    return dict(ProductTag.objects.filter(product=product).values_list("tag__name", "state"))


def test_undo_restores_the_edited_decisions(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    catalog = review_catalog(page, live_server.url, merchandiser, products=3)  # type: ignore[attr-defined]
    p1, p2, p3 = catalog.products
    tags = catalog.tags

    # Edit the proposals: wool on, cotton off, silk added through the search.
    edit_wool_cotton_silk(page)
    page.keyboard.press("Enter")
    wait_for_title(page, p2.title)
    edited = {"red": "approved", "cotton": "rejected", "wool": "approved", "silk": "approved"}
    assert states(p1) == edited

    page.keyboard.press("u")
    wait_for_title(page, p1.title)
    expect(page.locator("[data-restored]")).to_be_visible()
    expect(page.locator(f"#tag-{tags['red'].pk}")).to_be_checked()
    expect(page.locator(f"#tag-{tags['cotton'].pk}")).not_to_be_checked()
    expect(page.locator(f"#tag-{tags['wool'].pk}")).to_be_checked()
    expect(page.locator(f"#tag-{tags['silk'].pk}")).to_be_checked()
    assert states(p1) == {}

    # One key puts the reviewer's work back.
    page.keyboard.press("Enter")
    wait_for_title(page, p2.title)
    assert states(p1) == edited

    # An empty submission ("no tags apply") can be reopened from the history too.
    page.keyboard.press("0")
    wait_for_title(page, p3.title)
    assert set(states(p2).values()) == {"rejected"}
    page.locator("[data-history] summary").click()
    page.locator("[data-history] li", has_text=p2.title).get_by_role("button").click()
    wait_for_title(page, p2.title)
    expect(page.locator("[data-restored]")).to_be_visible()
    expect(page.locator("[data-review-form] input[name=tag]:checked")).to_have_count(0)
    assert states(p2) == {}
