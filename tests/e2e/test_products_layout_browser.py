"""In a real Chromium: the products list at 1366 px and narrower. A review date
never breaks inside ("12/05/202" / "6"), and the score filter's "from [ ] to [ ]"
stays on one line inside its cell.

Needs Debian's chromium at /usr/bin/chromium (skipped otherwise)."""

from datetime import datetime

import pytest

from tests.e2e.conftest import CHROMIUM

if not CHROMIUM.exists():
    pytest.skip("install Debian chromium: apt-get install chromium", allow_module_level=True)

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page

from tests.factories import PASSWORD, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = [1366, 1280, 1024, 800, 600, 390]


def log_in(page: Page, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def crowded_catalogue() -> None:
    """Rows whose title, brand and category leave the date column little room."""
    reviewed = timezone.make_aware(datetime(2026, 12, 5, 10, 30))
    for n in range(6):
        ProductFactory(
            external_id=f"SKU-LONG-{n:03d}",
            title=(
                "Waterproof breathable lightweight packable hiking rain jacket with "
                f"adjustable hood and taped seams, model {n}"
            ),
            brand="Mountain Outfitters International",
            category_path="Apparel > Men > Outerwear > Rain jackets > Hiking and trekking",
            reviewed_at=reviewed,
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_dates_stay_whole_and_the_score_filter_stays_on_one_line(
    browser: Browser, live_server, merchandiser: User, width: int
) -> None:
    crowded_catalogue()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, live_server.url, merchandiser)
        page.goto(f"{live_server.url}/products/")

        dates = page.locator("table.products-table td time")
        assert dates.count() == 6
        # One line box per date: a date broken across lines has two.
        lines = dates.evaluate_all("els => els.map(e => e.getClientRects().length)")
        texts = dates.all_inner_texts()
        assert lines == [1] * 6, (width, texts)

        low = page.locator("#id_score_min").bounding_box()
        high = page.locator("#id_score_max").bounding_box()
        to_label = page.locator("label[for=id_score_max]").bounding_box()
        assert low is not None
        assert high is not None
        assert to_label is not None
        assert abs(low["y"] - high["y"]) < 2, (width, low, high)
        assert abs(to_label["y"] + to_label["height"] / 2 - (high["y"] + high["height"] / 2)) < 4
        # Both boxes are usable and inside the fieldset, which stays in its cell.
        assert low["width"] >= 36, (width, low)
        assert high["width"] >= 36, (width, high)
        fits = page.locator("fieldset.score-range").evaluate(
            "f => f.scrollWidth <= f.clientWidth + 1"
            " && f.getBoundingClientRect().right <= f.closest('.card').getBoundingClientRect().right"
        )
        assert fits, width
    finally:
        context.close()
