"""In a real Chromium: the merge picker's "No matching tag in this facet."
message does not cover the Merge… button (it used to, until Esc), and a
refused rename on the same page keeps what was typed.

Needs Debian's chromium at /usr/bin/chromium (skipped otherwise)."""

import pytest

from tests.e2e.conftest import CHROMIUM, log_in

if not CHROMIUM.exists():
    pytest.skip("install Debian chromium: apt-get install chromium", allow_module_level=True)

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.annotation.ui_catalog import build_catalog

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def covered(page: Page, selector: str) -> bool:
    """Whether something else is on top of the element's centre."""
    return bool(
        page.locator(selector).evaluate(
            """el => {
                const box = el.getBoundingClientRect();
                const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
                return !(top === el || el.contains(top));
            }"""
        )
    )


def open_red_tag(page: Page, base_url: str, user: User) -> None:
    """Build the test catalogue, log `user` in and open the page of its tag "red"."""
    red = build_catalog(products=0).tags["red"]
    log_in(page, base_url, user)
    page.goto(f"{base_url}/taxonomy/tags/{red.pk}/")


def test_the_empty_picker_message_leaves_the_merge_button_free(
    page: Page, live_server: object, admin_user: User
) -> None:
    open_red_tag(page, live_server.url, admin_user)  # type: ignore[attr-defined]

    page.locator("#merge-into").fill("zzz")
    expect(page.locator("#merge-into-list")).to_contain_text("No matching tag in this facet.")
    button = "form[action$='/merge/'] button[type=submit]"

    assert not covered(page, button)
    # Clicked at once, without Esc: the server answers for the typed text.
    page.locator(button).click(timeout=2_000)
    expect(page.locator(".errorlist")).to_contain_text("No tag is exactly “zzz”")
    expect(page.locator("#merge-into")).to_have_value("zzz")


def test_a_taken_name_is_refused_on_the_tag_page_with_the_merge_offered(
    page: Page, live_server: object, admin_user: User
) -> None:
    open_red_tag(page, live_server.url, admin_user)  # type: ignore[attr-defined]

    page.locator("#id_name").fill("Blue")
    page.get_by_role("button", name="Rename…").click()

    expect(page.locator("#confirm-title")).to_have_count(0)
    expect(page.locator("#id_name")).to_have_value("Blue")
    expect(page.locator("#id_name")).to_be_focused()
    expect(page.locator("form[action$='/rename/'] .errorlist")).to_contain_text(
        "already has a tag named “blue”; merge the two tags instead"
    )
    expect(page.locator("#merge-into")).to_have_value("color:blue")
