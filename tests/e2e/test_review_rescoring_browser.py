"""Issue #13 in a real Chromium: while a newly promoted version re-scores the
catalogue, the review page keeps the previous version's suggestions, says so in
a banner, and Enter saves them as usual."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from annotation.models import ProductTag
from tests.annotation.ui_catalog import build_catalog
from tests.e2e.test_review_browser import (  # noqa: F401  (fixtures)
    log_in,
    page,
    wait_for_title,
)
from tests.factories import ModelVersionFactory
from training.models import ModelVersion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_no_suggestion_vanishes_during_a_re_score(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    catalog = build_catalog(products=2)
    old = catalog.version
    old.status = ModelVersion.Status.ARCHIVED
    old.save(update_fields=["status"])
    # Promoted a moment ago: it has scored no product yet.
    new = ModelVersionFactory(status=ModelVersion.Status.ACTIVE, mode=ModelVersion.Mode.HEAD)
    first = catalog.products[0]
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, first.title)

    banner = page.locator("[data-rescoring]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"v{new.pk} is still re-scoring")
    red, cotton = catalog.tags["red"], catalog.tags["cotton"]
    expect(page.locator(f"#tag-{red.pk}")).to_be_checked()
    expect(page.locator(f"#tag-{cotton.pk}")).to_be_checked()
    expect(page.get_by_text("The model proposes no tag here")).to_have_count(0)

    page.keyboard.press("Enter")
    wait_for_title(page, catalog.products[1].title)

    states = dict(ProductTag.objects.filter(product=first).values_list("tag__name", "state"))
    assert states == {"red": "approved", "cotton": "approved", "wool": "rejected"}
