"""The browser tests' watchdog (tests/e2e/conftest.py): a test whose browser no
longer answers is told where it stands and fails, instead of hanging the run,
and the tests after it get a new browser."""

import io

import pytest
from playwright.sync_api import Browser, Error, Page

from tests.e2e.conftest import CHROMIUM

if not CHROMIUM.exists():
    pytest.skip("install Debian chromium: apt-get install chromium", allow_module_level=True)

pytestmark = [pytest.mark.e2e]

STOPPED: list[Browser] = []


@pytest.mark.stuck_after(3)
def test_a_call_that_never_returns_fails_once_the_watchdog_stops_the_browser(
    page: Page, browser: Browser, request: pytest.FixtureRequest
) -> None:
    report = io.StringIO()
    request.node.watchdog_report = report  # type: ignore[attr-defined]
    page.goto("about:blank")
    STOPPED.append(browser)
    # A promise that never settles: Playwright waits on it with no timeout.
    with pytest.raises(Error, match="closed"):
        page.evaluate("new Promise(() => {})")
    assert not browser.is_connected()
    # The report names the test and the very line it waited on.
    text = report.getvalue()
    assert f"{request.node.nodeid}: still running after 3 s" in text
    assert 'page.evaluate("new Promise(() => {})")' in text
    assert "stopped 1 Chromium process(es) of this run" in text


def test_the_next_test_gets_a_new_browser(page: Page, browser: Browser) -> None:
    assert STOPPED, "runs after the test above"
    assert browser is not STOPPED[0]
    assert browser.is_connected()
    page.goto("about:blank")
    assert page.evaluate("1 + 1") == 2
