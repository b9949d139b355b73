"""What the browser tests share: one Chromium a module (Debian's, at
/usr/bin/chromium; the modules skip themselves without it), a page at desktop
size, logging in through the login form, and a watchdog for a stuck test."""

import gc
import os
import re
import signal
import sys
import threading
import traceback
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TextIO

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Assertions wait as long as a page's actions do (page.set_default_timeout
# below), not Playwright's 5 s: on two busy cores a routed request, its answer
# and the swap that follows took longer.
expect.set_options(timeout=10_000)

CHROMIUM = Path("/usr/bin/chromium")
# Every Chromium these tests start carries this in its command line, so the
# watchdog finds this run's browsers (and no one else's) to stop them.
RUN_MARK = f"--tagger-e2e-run={uuid.uuid4().hex}"
# A browser test takes seconds. One still running after this long waits on a
# browser that no longer answers (a Playwright call without a timeout, such as
# a key press, never returns then): the watchdog prints where every thread and
# greenlet stands, then stops this run's Chromium, so the waiting call fails
# and the test fails with it, instead of the whole run being killed later with
# no word of which test it was.
STUCK_AFTER_S = 150.0


class _Chromium:
    """This module's Chromium, started again if the watchdog stopped it, so the
    tests after a stuck one run as usual."""

    def __init__(self, playwright: Playwright) -> None:
        self.playwright = playwright
        self.current: Browser | None = None

    def get(self) -> Browser:
        if self.current is None or not self.current.is_connected():
            self.current = self.playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    RUN_MARK,
                ],
            )
        return self.current


@pytest.fixture(scope="module")
def chromium() -> Iterator[_Chromium]:
    with sync_playwright() as playwright:
        chromium = _Chromium(playwright)
        yield chromium
        if chromium.current is not None and chromium.current.is_connected():
            chromium.current.close()


@pytest.fixture
def browser(chromium: _Chromium) -> Browser:
    return chromium.get()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser test whose browser the watchdog stopped runs once more, in a new
    Chromium (pytest-rerunfailures); any other failure is final."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=["TargetClosedError"]))


@pytest.fixture(autouse=True)
def stuck_test_watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    # @pytest.mark.stuck_after(seconds): the watchdog's own test waits less.
    mark = request.node.get_closest_marker("stuck_after")
    after = float(mark.args[0]) if mark else STUCK_AFTER_S
    timer = threading.Timer(after, _report_and_stop, args=(request, after))
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


def _report_and_stop(request: pytest.FixtureRequest, after: float) -> None:
    # The watchdog's own test reads the report instead of the terminal.
    report = getattr(request.node, "watchdog_report", None)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    quiet = report is not None or capture is None
    with nullcontext() if quiet else capture.global_and_fixture_disabled():
        out = report if report is not None else sys.stderr
        _report(out, request.node.nodeid, after)
        stopped = _stop_browsers()
        print(f"+++ stopped {stopped} Chromium process(es) of this run +++", file=out, flush=True)


def _report(out: TextIO, nodeid: str, after: float) -> None:
    """Where every thread and greenlet stands."""
    print(f"\n+++ {nodeid}: still running after {after:.0f} s +++", file=out)
    for thread_id, frame in sys._current_frames().items():
        print(f"--- thread {thread_id} ---", file=out)
        traceback.print_stack(frame, file=out)
    # The test's own steps run in a greenlet (Playwright's sync API), which the
    # threads' stacks do not show.
    import greenlet

    for obj in gc.get_objects():
        # type(), not isinstance(): some objects (torch's deprecated aliases)
        # warn when their class is looked up.
        if issubclass(type(obj), greenlet.greenlet) and obj.gr_frame is not None:
            print("--- greenlet ---", file=out)
            traceback.print_stack(obj.gr_frame, file=out)


def _stop_browsers() -> int:
    stopped = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if RUN_MARK.encode() in command.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                stopped += 1
            except OSError:
                pass
    return stopped


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page: Page, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/$"))
