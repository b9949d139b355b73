"""The review UI in a real Chromium: keyboard-only reviewing, the tag
autocomplete, undo, bulk review, permissions and layout at tablet width.

Needs Debian's chromium at /usr/bin/chromium (skipped otherwise). With
TAGGER_SCREENSHOTS=1 it also writes docs/review.png and docs/dashboard.png
from the project's sample catalogue."""

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM

if not CHROMIUM.exists():
    pytest.skip("install Debian chromium: apt-get install chromium", allow_module_level=True)

from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from annotation.models import Product, ProductTag, ReviewEvent
from tests.annotation.ui_catalog import Catalog, build_catalog, compile_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
DOCS = Path(__file__).resolve().parents[2] / "docs"
Action = ReviewEvent.Action


@pytest.fixture
def page(page: Page) -> Page:
    """The shared page (tests/e2e/conftest.py), noting what the CSP refuses:
    inline scripts or styles would be refused and logged here."""
    page.csp_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda msg: (
            page.csp_errors.append(msg.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    return page


def log_in(page: Page, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def states(product: Product) -> dict[str, str]:
    return dict(ProductTag.objects.filter(product=product).values_list("tag__name", "state"))


def title(page: Page) -> str:
    return page.locator("#product-title").inner_text()


def wait_for_title(page: Page, text: str) -> None:
    expect(page.locator("#product-title")).to_have_text(re.compile(re.escape(text)))


def edit_wool_cotton_silk(page: Page) -> None:
    """On the sample catalogue's first product: wool on (key 3), cotton off (key 2),
    silk added through the search (by its alias)."""
    page.keyboard.press("3")
    page.keyboard.press("2")
    page.keyboard.press("/")
    page.keyboard.type("mulberry")
    expect(page.locator("#tag-search-list [role=option]").first).to_contain_text("Silk")
    page.keyboard.press("Enter")


def open_review(page: Page, base_url: str, user: User, title: str) -> None:
    """Log `user` in and open the review page, showing the product titled `title`."""
    log_in(page, base_url, user)
    page.goto(f"{base_url}/review/")
    wait_for_title(page, title)


def review_catalog(page: Page, base_url: str, user: User, products: int) -> Catalog:
    """Build the test catalogue with `products` products to review, log `user`
    in and open the review page at the first of them."""
    catalog = build_catalog(products=products)
    open_review(page, base_url, user, catalog.products[0].title)
    return catalog


def test_a_reviewer_works_through_the_queue_with_the_keyboard_only(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog: Catalog = build_catalog(products=4, extra_products=6)
    p1, p2, p3 = catalog.products[:3]
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, p1.title)

    # 1: the suggestions are right, Enter accepts them
    page.keyboard.press("Enter")
    wait_for_title(page, p2.title)
    expect(page.locator("#review-status")).to_contain_text("Saved")

    # 2: wool on (3), cotton off (2), then Enter
    page.keyboard.press("3")
    page.keyboard.press("2")
    expect(page.locator("#tag-" + str(catalog.tags["wool"].pk))).to_be_checked()
    page.keyboard.press("Enter")
    wait_for_title(page, p3.title)

    # 3: "/" opens the search; an alias finds silk; Enter adds it, Enter submits
    page.keyboard.press("/")
    expect(page.locator("#tag-search-input")).to_be_focused()
    page.keyboard.type("mulberry")
    expect(page.locator("#tag-search-list [role=option]").first).to_contain_text("Silk")
    page.keyboard.press("Enter")
    expect(page.locator("[data-added-list] input[name=tag]")).to_be_checked()
    page.keyboard.press("Enter")
    wait_for_title(page, catalog.products[3].title)

    assert states(p1) == {"red": "approved", "cotton": "approved", "wool": "rejected"}
    assert states(p2) == {"red": "approved", "cotton": "rejected", "wool": "approved"}
    assert states(p3) == {
        "red": "approved",
        "cotton": "approved",
        "wool": "rejected",
        "silk": "approved",
    }
    assert ReviewEvent.objects.get(product=p3, tag__name="silk").action == Action.ADD

    # u: the third review is undone and its product comes back
    page.keyboard.press("u")
    wait_for_title(page, p3.title)
    expect(page.locator("#review-status")).to_contain_text("Undid")
    assert states(p3) == {}
    assert ReviewEvent.objects.filter(product=p3, action=Action.UNDO).count() == 4
    p3.refresh_from_db()
    assert p3.reviewed_at is None
    assert page.csp_errors == []  # type: ignore[attr-defined]


def test_bulk_review_accepts_a_tag_on_five_products(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog = build_catalog(products=0, extra_products=7)
    chosen = catalog.products[1:6]
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/products/?state=unreviewed")  # type: ignore[attr-defined]

    for product in chosen:
        page.locator(f"#product-{product.pk}").check()
    expect(page.locator("[data-selected-count]")).to_have_text("5 selected")
    bulk = page.locator("#bulk-tag")
    bulk.fill("")
    bulk.type("羊毛")  # wool, by its Chinese name
    expect(page.locator("#bulk-tag-list [role=option]").first).to_contain_text("Wool")
    bulk.press("Enter")
    expect(bulk).to_have_value("material:wool")
    page.get_by_role("button", name="Accept on selected").click()

    expect(page.locator(".messages")).to_contain_text("Accepted Wool on 5 of 5 selected products.")
    wool = catalog.tags["wool"]
    approved = ProductTag.objects.filter(tag=wool, state="approved")
    assert sorted(approved.values_list("product_id", flat=True)) == [p.pk for p in chosen]
    assert ReviewEvent.objects.filter(tag=wool, action=Action.BULK_ACCEPT).count() == 5


def test_select_all_selects_every_product_on_the_page(
    page: Page, live_server: object, merchandiser: User
) -> None:
    build_catalog(products=0, extra_products=4)
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/products/")  # type: ignore[attr-defined]

    page.get_by_label("Select all products on this page").check()

    expect(page.locator("[data-select-row]:checked")).to_have_count(4)
    expect(page.locator("[data-selected-count]")).to_have_text("4 selected")


def test_one_keystroke_reviews_a_product_whose_suggestions_are_right(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog = build_catalog(products=2)
    first, second = catalog.products
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    wait_for_title(page, first.title)

    page.keyboard.press("Enter")

    wait_for_title(page, second.title)
    assert states(first) == {"red": "approved", "cotton": "approved", "wool": "rejected"}
    assert sorted(ReviewEvent.objects.filter(product=first).values_list("action", flat=True)) == [
        Action.ACCEPT,
        Action.ACCEPT,
        Action.REJECT,
    ]


def test_single_valued_facets_behave_like_radio_buttons(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog = build_catalog(products=1)
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]

    # blue (a colour, like the pre-selected red) added through the search
    page.keyboard.press("/")
    page.keyboard.type("navy")
    expect(page.locator("#tag-search-list [role=option]").first).to_contain_text("Blue")
    page.keyboard.press("Enter")

    expect(page.locator(f"#tag-{catalog.tags['blue'].pk}")).to_be_checked()
    expect(page.locator(f"#tag-{catalog.tags['red'].pk}")).not_to_be_checked()


def test_escape_closes_the_search_and_question_mark_shows_the_shortcuts(
    page: Page, live_server: object, merchandiser: User
) -> None:
    build_catalog(products=1)
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]

    page.keyboard.press("/")
    page.keyboard.type("co")
    expect(page.locator("#tag-search-list")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#tag-search-list")).to_be_hidden()
    expect(page.locator("#tag-search-input")).not_to_be_focused()

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()


def test_a_merchandiser_gets_403_on_admin_pages(
    page: Page, live_server: object, merchandiser: User
) -> None:
    catalog = build_catalog(products=0)
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]

    taxonomy = page.goto(f"{live_server.url}/taxonomy/")  # type: ignore[attr-defined]
    tag_page = page.goto(
        f"{live_server.url}/taxonomy/tags/{catalog.tags['red'].pk}/"  # type: ignore[attr-defined]
    )

    assert taxonomy is not None
    assert taxonomy.status == 403
    assert tag_page is not None
    assert tag_page.status == 403


def test_the_language_switch_turns_the_interface_chinese(
    page: Page, live_server: object, merchandiser: User
) -> None:
    compile_messages()
    build_catalog(products=1)
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]

    page.get_by_label("Language").select_option("zh-hans")

    expect(page.get_by_role("heading", name="标签")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("group", name=re.compile("颜色"))).to_contain_text("红色")


@pytest.mark.parametrize("width", [1280, 768])
def test_the_review_page_fits_the_screen(
    browser: Browser, live_server: object, merchandiser: User, width: int
) -> None:
    build_catalog(products=1)
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    log_in(page, live_server.url, merchandiser)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    submit_box = page.get_by_role("button", name=re.compile("Submit")).bounding_box()

    context.close()
    assert overflow <= 0
    assert submit_box is not None
    assert submit_box["x"] + submit_box["width"] <= width


@pytest.mark.skipif(
    os.environ.get("TAGGER_SCREENSHOTS") != "1",
    reason="set TAGGER_SCREENSHOTS=1 to rewrite docs/review.png and docs/dashboard.png",
)
def test_screenshots_of_the_review_page_and_dashboard(
    page: Page, live_server: object, make_user: Callable[..., User]
) -> None:
    from django.core.management import call_command

    call_command("bootstrap_demo", "--no-users")
    reviewer = make_user("mia", "merchandiser")
    admin = make_user("ada", "admin")
    screenshot_history(reviewer)
    log_in(page, live_server.url, reviewer)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/review/")  # type: ignore[attr-defined]
    expect(page.locator("#product-title")).to_be_visible()
    # The pointer on a tag lights up the words behind it.
    page.locator("[data-tag-row]").first.hover()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "review.png"))
    page.context.clear_cookies()
    log_in(page, live_server.url, admin)  # type: ignore[attr-defined]
    page.screenshot(path=str(DOCS / "dashboard.png"), full_page=False)


def screenshot_history(user: User) -> None:
    """Some reviews by the sample's own labels, so the dashboard has a shape."""
    from annotation.services.review import Decision, submit_review

    products = Product.objects.filter(reviewed_at__isnull=True).order_by("pk")[:40]
    for product in products:
        tags = list(product.suggestions.filter(selected=True).values_list("tag_id", flat=True))
        try:
            submit_review(user, product, [Decision(tag_id, True) for tag_id in tags])
        except ValueError:
            # An imported tag already fills a single-valued facet: not needed here.
            continue
