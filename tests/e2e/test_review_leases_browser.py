"""The review page's part of "leases are the law", in a real Chromium: an empty
Enter saves nothing, key 0 ("No tags apply") is the explicit empty decision,
and a submit refused because someone else holds the product (409) shows the
reason and the next product instead of an error line.

Needs Debian's chromium at /usr/bin/chromium (skipped otherwise)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from annotation import roles
from annotation.models import Product, QueueEntry, ReviewEvent
from tests.annotation.ui_catalog import build_catalog, enqueue
from tests.e2e import test_review_browser as ui
from tests.e2e.test_review_browser import log_in, states, wait_for_title
from tests.factories import ProductFactory, UserFactory

# The review page's fixture (tests/e2e/conftest.py gives the Chromium, one per module).
page = ui.page
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_empty_enter_saves_nothing_and_key_0_says_no_tags_apply(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog = build_catalog(products=1)
    bare = ProductFactory(title="Plain box", queued=False)
    enqueue(bare, priority=2.0)  # first in the queue, with no suggestion at all
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, "Plain box")

    page.keyboard.press("Enter")

    expect(page.locator("#review-status")).to_contain_text("Nothing decided for Plain box")
    wait_for_title(page, "Plain box")
    bare.refresh_from_db()
    assert bare.reviewed_at is None

    page.keyboard.press("0")

    wait_for_title(page, catalog.products[0].title)
    expect(page.locator("#review-status")).to_contain_text("Saved Plain box")
    assert ReviewEvent.objects.get(product=bare).note == "no tags apply"

    # 0 on a product with pre-checked suggestions rejects every shown tag
    page.keyboard.press("0")

    wait_for_title(page, "All done for now")
    expect(page.locator("#review-status")).to_contain_text("Saved")
    assert states(catalog.products[0]) == {
        "red": "rejected",
        "cotton": "rejected",
        "wool": "rejected",
    }
    assert page.csp_errors == []  # type: ignore[attr-defined]


def test_a_product_taken_by_someone_else_is_not_saved_and_the_next_one_shows(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog = build_catalog(products=2)
    first, second = catalog.products
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, first.title)
    # the reviewer's lease ran out and someone else took the product meanwhile
    other = UserFactory(role=roles.MERCHANDISER)
    QueueEntry.objects.filter(product=first).update(
        leased_by=other, lease_expires_at=timezone.now() + timedelta(minutes=10)
    )

    page.keyboard.press("Enter")

    expect(page.locator("#review-status")).to_contain_text(
        f"Not saved: {first.title} is being reviewed by someone else."
    )
    wait_for_title(page, second.title)
    assert states(Product.objects.get(pk=first.pk)) == {}
    assert QueueEntry.objects.get(product=first).leased_by == other
