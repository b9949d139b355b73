"""The review page when things go wrong, in a real Chromium: a session that ends
while reviewing, error answers, the first model still scoring, inline styles
and the CSP, the focus after the shortcuts dialog, and a phone-sized screen."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, Route, expect

from annotation.models import Product, ProductTag
from tests.annotation.ui_catalog import build_catalog, compile_messages
from tests.e2e.test_review_browser import (  # noqa: F401  (fixtures)
    PASSWORD,
    edit_wool_cotton_silk,
    log_in,
    open_review,
    page,
    review_catalog,
    wait_for_title,
)
from tests.e2e.test_review_keys_browser import many_tags

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every CSP refusal, whatever the console says: the page reports each one.
CSP_LISTENER = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(`${e.violatedDirective} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def states(product: Product) -> dict[str, str]:
    return dict(ProductTag.objects.filter(product=product).values_list("tag__name", "state"))


def status(tab: Page) -> str:
    return tab.locator("#review-status").inner_text()


def log_in_here(tab: Page, user: User) -> None:
    """Fill in the login form the tab shows (it keeps its `next`)."""
    tab.get_by_label("Username").fill(user.username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()


def test_an_ended_session_takes_the_tab_to_the_login_page_and_back_with_the_ticks(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    catalog = review_catalog(page, base, merchandiser, products=2)
    first = catalog.products[0]
    tags = {name: tag.pk for name, tag in catalog.tags.items()}
    # wool on, cotton off, silk added through the search
    edit_wool_cotton_silk(page)
    expect(page.locator(f"#tag-{tags['silk']}")).to_be_checked()

    # when: the reviewer logs out in another tab, then presses Enter here
    other = page.context.new_page()
    other.goto(f"{base}/review/")
    other.get_by_role("button", name="Log out").click()
    # Closing a tab while its logout still navigates once hung Page.close for
    # good (a full run here, after 150 s the watchdog's report): close it once
    # the login page is there.
    expect(other.get_by_role("heading", name="Log in to Tagger")).to_be_visible()
    other.close()
    page.keyboard.press("Enter")

    # then: the whole tab is on the login page, which says why and comes back here
    expect(page).to_have_url(re.compile(r"/login/\?next=/review/$"))
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.locator(".topbar .username")).to_have_count(0)
    assert states(first) == {}

    log_in_here(page, merchandiser)
    expect(page).to_have_url(re.compile(r"/review/$"))
    wait_for_title(page, first.title)
    expect(page.locator("#review-status")).to_contain_text("Your ticks from before are back")
    expect(page.locator(f"#tag-{tags['red']}")).to_be_checked()
    expect(page.locator(f"#tag-{tags['cotton']}")).not_to_be_checked()
    expect(page.locator(f"#tag-{tags['wool']}")).to_be_checked()
    expect(page.locator(f"#tag-{tags['silk']}")).to_be_checked()

    page.keyboard.press("Enter")
    wait_for_title(page, catalog.products[1].title)
    assert states(first) == {
        "red": "approved",
        "cotton": "rejected",
        "wool": "approved",
        "silk": "approved",
    }


def test_a_page_left_from_an_earlier_session_reloads_with_the_ticks_kept(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    # The page fetches the tag index a moment after it loads; once it is hidden
    # behind the other tab, Chromium may put that off until the other tab has
    # logged out, and the fetch then rightly finds the session ended.
    with page.expect_response("**/review/tags.json"):
        catalog = review_catalog(page, base, merchandiser, products=2)
    first = catalog.products[0]
    wool = catalog.tags["wool"].pk
    page.keyboard.press("3")

    # when: the reviewer logs out and in again in another tab (a new CSRF
    # token), then presses Enter on this page, which holds the old one
    other = page.context.new_page()
    other.goto(f"{base}/review/")
    other.get_by_role("button", name="Log out").click()
    log_in(other, base, merchandiser)
    other.close()
    page.keyboard.press("Enter")

    # then: the page reloads, says why, and the ticks are still there
    expect(page.locator("#review-status .status-warn")).to_contain_text("This page was out of date")
    expect(page.locator("#review-status")).to_contain_text("Your ticks from before are back")
    wait_for_title(page, first.title)
    expect(page.locator(f"#tag-{wool}")).to_be_checked()
    assert states(first) == {}
    page.keyboard.press("Enter")
    wait_for_title(page, catalog.products[1].title)
    assert states(first) == {"red": "approved", "cotton": "approved", "wool": "approved"}


def test_a_page_polled_by_htmx_goes_to_the_login_page_when_the_session_ends(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    review_catalog(page, live_server.url, merchandiser, products=1)  # type: ignore[attr-defined]

    page.context.clear_cookies()
    # Any htmx request of the page: here the undo form, sent by htmx itself.
    page.evaluate("htmx.trigger(document.querySelector('[data-undo-form]'), 'submit')")

    expect(page).to_have_url(re.compile(r"/login/\?next=/review/$"))
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    expect(page.locator("#review-panel")).to_have_count(0)


def test_the_tag_search_goes_to_the_login_page_when_the_session_ends(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    tag_index = "**/review/tags.json"
    # The tag list the page fetches ahead fails, so "/" fetches it again later.
    page.route(tag_index, lambda route: route.abort())
    with page.expect_event("requestfailed", lambda request: "/review/tags.json" in request.url):
        review_catalog(page, live_server.url, merchandiser, products=1)  # type: ignore[attr-defined]
    page.unroute(tag_index)

    page.context.clear_cookies()
    page.keyboard.press("/")
    page.keyboard.type("mulberry")

    expect(page).to_have_url(re.compile(r"/login/\?next=/review/$"))
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    expect(page.get_by_text("Could not load the tag list.")).to_have_count(0)


def fulfil(status: int, body: str, content_type: str = "text/html; charset=utf-8"):
    def handler(route: Route) -> None:
        route.fulfill(status=status, body=body, content_type=content_type)

    return handler


class SubmitAnswers:
    """The answer the review page's submit gets: `handler` while one is set, the
    server's own otherwise. Routed once, before the page loads: a route added
    to a loaded page once let the first submit through to the server under load."""

    URL = "**/review/submit/"

    def __init__(self, tab: Page) -> None:
        self.handler: Callable[[Route], None] | None = None
        tab.route(self.URL, self._answer)

    def _answer(self, route: Route) -> None:
        if self.handler is None:
            route.continue_()
        else:
            self.handler(route)


ERROR_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n'
    "<body><h1>Server Error (500)</h1></body></html>"
)


def test_error_answers_are_told_in_words_never_as_markup(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    answers = SubmitAnswers(page)
    catalog = review_catalog(page, live_server.url, merchandiser, products=2)  # type: ignore[attr-defined]
    first, second = catalog.products

    cases = [
        (fulfil(500, ERROR_PAGE), "The server failed on this request"),
        (fulfil(404, ERROR_PAGE.replace("Server Error (500)", "Not Found")), "no longer exists"),
        (fulfil(502, "<html><body>Bad gateway</body></html>"), "not answering right now"),
        (fulfil(403, "<!doctype html><html><body>Forbidden</body></html>"), "not allowed"),
        (lambda route: route.abort(), "Could not reach the server"),
        # A plain-text answer is the server's own message, shown as it is.
        (
            fulfil(503, "The database could not be reached.", "text/plain; charset=utf-8"),
            "The database could not be reached.",
        ),
    ]
    for handler, words in cases:
        answers.handler = handler
        page.keyboard.press("Enter")
        expect(page.locator("#review-status .status-error")).to_contain_text(words)
        assert "<" not in status(page)
    answers.handler = None
    wait_for_title(page, first.title)  # nothing was swapped in
    assert states(first) == {}

    # The hidden field pointing at no product: nothing is done, the reviewer is
    # told so in words, and keeps the product they hold.
    page.locator("[data-review-form] input[name=product]").evaluate(
        "(el) => { el.value = '999999'; }"
    )
    page.keyboard.press("Enter")
    expect(page.locator("#review-status .status-error")).to_contain_text(
        "That product no longer exists"
    )
    assert "<" not in status(page)
    wait_for_title(page, first.title)
    # The product deleted while on screen: the same words, and the next product.
    first.delete()
    page.keyboard.press("Enter")
    wait_for_title(page, second.title)
    expect(page.locator("#review-status .status-error")).to_contain_text(
        "That product no longer exists"
    )
    expect(page.locator("#product-title")).to_be_focused()


def test_error_answers_are_told_in_chinese(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    compile_messages()
    answers = SubmitAnswers(page)
    catalog = build_catalog(products=1)
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, merchandiser)
    page.goto(f"{base}/review/")
    # Until the page in Chinese has loaded, its scripts may not listen for keys.
    with page.expect_navigation():
        page.get_by_label("Language").select_option("zh-hans")
    expect(page.get_by_role("heading", name="标签")).to_be_visible()
    wait_for_title(page, catalog.products[0].title)

    answers.handler = fulfil(500, ERROR_PAGE)
    page.keyboard.press("Enter")

    expect(page.locator("#review-status .status-error")).to_contain_text("服务器")
    assert "<" not in status(page)
    assert "Server" not in status(page)


def test_while_the_first_model_scores_the_card_and_the_banner_agree(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    catalog = build_catalog(products=1)
    # The only version, active, has scored nothing yet (the first scoring runs).
    catalog.version.suggestions.all().delete()
    base = live_server.url  # type: ignore[attr-defined]
    log_in(page, base, merchandiser)
    page.goto(f"{base}/review/")
    wait_for_title(page, catalog.products[0].title)
    v = catalog.version.pk

    expect(page.locator("[data-rescoring]")).to_contain_text(
        f"Model v{v} is still scoring the catalogue"
    )
    card = page.locator(".product-card")
    expect(card).to_contain_text(f"Suggestions will come from model v{v}")
    expect(card).not_to_contain_text("No model is active")
    expect(page.get_by_text("The model proposes no tag here")).to_have_count(0)


def test_no_inline_style_is_refused_during_submit_skip_and_undo(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
) -> None:
    page.add_init_script(CSP_LISTENER)
    catalog = review_catalog(page, live_server.url, merchandiser, products=3)  # type: ignore[attr-defined]
    # Inputs that carry a style attribute (set through the CSSOM, which the CSP
    # allows: browser extensions, devtools and autofill do it), even an empty
    # one: htmx must not copy it onto the next panel's inputs with setAttribute.
    mark_inputs = (
        "() => document.querySelectorAll('#review-panel input').forEach((el, i) => {"
        " el.style.setProperty('outline-color', 'red');"
        " if (i % 2) el.style.removeProperty('outline-color'); })"
    )

    page.evaluate(mark_inputs)
    page.keyboard.press("Enter")
    wait_for_title(page, catalog.products[1].title)
    page.evaluate(mark_inputs)
    page.keyboard.press("s")
    wait_for_title(page, catalog.products[2].title)
    page.evaluate(mark_inputs)
    page.keyboard.press("u")
    wait_for_title(page, catalog.products[0].title)
    page.wait_for_timeout(100)  # htmx settles 20 ms after the swap

    assert page.evaluate("window.cspViolations") == []
    assert page.csp_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("close", ["mouse", "Escape"])
def test_closing_the_shortcuts_gives_the_keys_back_to_the_product(
    page: Page,  # noqa: F811  (the fixture)
    live_server: object,
    merchandiser: User,
    close: str,
) -> None:
    catalog = review_catalog(page, live_server.url, merchandiser, products=2)  # type: ignore[attr-defined]
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")

    page.get_by_role("button", name="Shortcuts").click()
    expect(dialog).to_be_visible()
    if close == "mouse":
        dialog.get_by_role("button", name="Close").click()
    else:
        page.keyboard.press("Escape")

    expect(dialog).to_be_hidden()
    expect(page.locator("#product-title")).to_be_focused()
    page.keyboard.press("Enter")
    wait_for_title(page, catalog.products[1].title)
    expect(dialog).to_be_hidden()


COVERED = """() => {
  const bar = document.querySelector('[data-review-form] .actions').getBoundingClientRect();
  const scroller = document.querySelector('[data-tag-scroll]').getBoundingClientRect();
  const overlap = (a, b) => Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
  const parts = [document.querySelector('#tags-heading'),
                 ...document.querySelectorAll('[data-review-form] .tag-row')];
  return parts.filter((el) => {
    const box = el.getBoundingClientRect();
    // What shows of a row is the part inside the tag list's scroll area.
    const shown = el.matches('.tag-row')
      ? { top: Math.max(box.top, scroller.top), bottom: Math.min(box.bottom, scroller.bottom) }
      : box;
    return shown.bottom > shown.top && overlap(shown, bar) > 0.5;
  }).map((el) => el.id || el.dataset.tagRow);
}"""


PHONE = (390, 844)


@contextmanager
def review_tab(
    browser: Browser, live_server: object, user: User, product: Product, size: tuple[int, int]
) -> Iterator[Page]:
    """A tab of its own at `size` (width, height), logged in as `user` and on
    the review page at `product`; closed when the block ends."""
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        tab = context.new_page()
        open_review(tab, live_server.url, user, product.title)  # type: ignore[attr-defined]
        yield tab
    finally:
        context.close()


@pytest.mark.parametrize("size", [PHONE, (390, 664), (768, 1024), (1280, 800)])
def test_the_submit_bar_covers_no_tag_at_any_width(
    browser: Browser,
    live_server: object,
    merchandiser: User,
    size: tuple[int, int],
) -> None:
    product, _tags = many_tags(6, 3, (0.95, 0.6, 0.3))
    # A description long enough to start the tag panel low on a phone.
    product.description = "A long description of the product. " * 16
    product.normalized_text = f"{product.title} {product.description}"
    product.save()
    height = size[1]
    with review_tab(browser, live_server, merchandiser, product, size) as tab:
        covered = {"top of the page": tab.evaluate(COVERED)}
        tab.locator("#tags-heading").scroll_into_view_if_needed()
        covered["the panel scrolled into view"] = tab.evaluate(COVERED)
        tab.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        covered["the page's end"] = tab.evaluate(COVERED)
        tab.evaluate(
            "() => { const s = document.querySelector('[data-tag-scroll]'); "
            "s.scrollTop = s.scrollHeight; }"
        )
        covered["the tag list's end"] = tab.evaluate(COVERED)
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        bar = tab.locator("[data-review-form] .actions").bounding_box()

    assert covered == {where: [] for where in covered}
    assert overflow <= 0
    assert bar is not None
    assert bar["y"] + bar["height"] <= height  # the bar is reachable on screen


def test_a_phone_sees_the_whole_panel_once_scrolled_to_it(
    browser: Browser,
    live_server: object,
    merchandiser: User,
) -> None:
    product, _tags = many_tags(6, 3, (0.95, 0.6, 0.3))
    with review_tab(browser, live_server, merchandiser, product, PHONE) as tab:
        tab.locator("[data-review-form]").scroll_into_view_if_needed()
        form = tab.locator("[data-review-form]").bounding_box()
        first_row = tab.locator("[data-review-form] .tag-row").first.bounding_box()
        bar = tab.locator("[data-review-form] .actions").bounding_box()

    assert form is not None
    assert first_row is not None
    assert bar is not None
    # The panel fits the screen: its first tag and its submit bar both show,
    # the tag above the bar.
    assert form["height"] <= 844
    assert first_row["y"] >= 0
    assert first_row["y"] + first_row["height"] <= bar["y"]
    assert bar["y"] + bar["height"] <= 844


def test_the_phone_layout_never_records_an_unseen_tag_as_rejected(
    browser: Browser,
    live_server: object,
    merchandiser: User,
) -> None:
    product, tags = many_tags(12, 3, (0.95, 0.6, 0.3))
    with review_tab(browser, live_server, merchandiser, product, PHONE) as tab:
        tab.locator("[data-review-form]").scroll_into_view_if_needed()
        tab.wait_for_timeout(200)  # the tab notes what it has shown after 100 ms
        tab.keyboard.press("Enter")
        expect(tab.locator("#review-status")).to_contain_text("Saved")

    decided = dict(ProductTag.objects.filter(product=product).values_list("tag_id", "state"))
    rejected = {tag_id for tag_id, state in decided.items() if state == "rejected"}
    assert rejected  # the unticked tags it showed
    assert len(decided) < len(tags)  # not those below the fold of the tag list
