"""In a real Chromium: a merge made with the exact picker and undone from the
tag's page, and the Chinese interface (chosen once, kept across logins) with
no English status, mode, stage or reason left on the review, models and
import pages. Long unbroken text wraps instead of widening the page.

Needs Debian's chromium at /usr/bin/chromium (skipped otherwise)."""

import re

import pytest

from tests.e2e.conftest import CHROMIUM, log_in

if not CHROMIUM.exists():
    pytest.skip("install Debian chromium: apt-get install chromium", allow_module_level=True)

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from annotation.models import ProductTag, ReviewEvent, Tag
from tests.annotation.ui_catalog import (
    Catalog,
    build_catalog,
    compile_messages,
    enqueue,
)
from tests.factories import (
    ImportBatchFactory,
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    TagFactory,
    TrainingRunFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The English words of statuses, modes, stages and reasons that must not be
# left on a Chinese page (matched as whole words, case-sensitively).
ENGLISH_STATUS = re.compile(
    r"\b("
    r"Succeeded|Failed|Active|Archived|Running|Queued|Ready|Training|Cancelled|Deprecated"
    r"|Frozen encoder|Full fine-tune|Zero-shot|zero-shot"
    r"|preparing data|training head|training the head|epoch|evaluating|saving the model"
    r"|approved|rejected|The model is unsure|Likely carries a rare tag"
    r"|Reading and checking the rows|Saving the products|succeeded|failed|running|queued"
    r")\b"
)


def new_page(browser: Browser, width: int = 1280, height: int = 800) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


# -- merge and unmerge -----------------------------------------------------------------


def test_a_merge_picked_exactly_is_undone_from_the_tag_page(
    page: Page, live_server: object, admin_user: User
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    catalog: Catalog = build_catalog(products=0, extra_products=3)
    navy = TagFactory(group=catalog.color, name="Navy", display_name_en="Navy")
    TagFactory(group=catalog.color, name="Pink", aliases=["blush"])
    for product in catalog.products:
        ProductTagFactory(product=product, tag=navy, source="human", decided_at=timezone.now())
    blue = catalog.tags["blue"]
    ProductTagFactory(
        product=catalog.products[0],
        tag=blue,
        source="auto",
        state="rejected",
        decided_at=timezone.now(),
    )
    before = set(ProductTag.objects.values_list("product_id", "tag_id", "state", "source"))
    log_in(page, base, admin_user)
    page.goto(f"{base}/taxonomy/tags/{navy.pk}/")

    # The picker shows each candidate as "facet: name", only from Navy's facet.
    picker = page.locator("#merge-into")
    picker.fill("color:blu")
    options = page.locator("#merge-into-list [role=option]")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("color: blue")
    expect(options.nth(1)).to_contain_text("color: Pink")
    picker.fill("co")
    expect(page.locator("#merge-into-list")).not_to_contain_text("material")
    expect(page.locator("#merge-into-list")).not_to_contain_text("color: Navy")

    # A text that is not exactly one tag is refused by the server.
    picker.fill("color:blu")
    picker.press("Escape")
    page.get_by_role("button", name="Merge…").click()
    expect(page.locator(".errorlist")).to_contain_text("No tag is exactly “color:blu”")
    navy.refresh_from_db()
    assert navy.is_active

    # Choosing from the list names the tag; the confirmation says what moves,
    # and Enter there cancels.
    page.locator("#merge-into").fill("color:blu")
    page.locator("#merge-into-list [role=option]").first.click()
    expect(page.locator("[data-merge-chosen]")).to_have_text("Chosen: color: blue")
    page.get_by_role("button", name="Merge…").click()
    expect(page.locator("#confirm-title")).to_be_visible()
    expect(page.locator(".confirm-details")).to_contain_text("2 decisions move to color: blue.")
    expect(page.locator(".confirm-details")).to_contain_text("1 product carries both tags")
    page.keyboard.press("Enter")
    expect(page.locator("#tag-title")).to_contain_text("Navy")
    navy.refresh_from_db()
    assert navy.is_active

    page.locator("#merge-into").fill("color:blue")
    page.locator("#merge-into-list [role=option]").first.click()
    page.get_by_role("button", name="Merge…").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Merged color:Navy into color:blue")
    navy.refresh_from_db()
    assert navy.merged_into == blue

    # Undo it from Navy's page.
    page.goto(f"{base}/taxonomy/tags/{navy.pk}/")
    page.get_by_role("button", name="Unmerge…").click()
    expect(page.locator(".confirm-details")).to_contain_text("3 decisions go back to color: Navy.")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Unmerged color:Navy from color:blue")

    navy.refresh_from_db()
    assert (navy.status, navy.merged_into) == (Tag.Status.ACTIVE, None)
    assert set(ProductTag.objects.values_list("product_id", "tag_id", "state", "source")) == before
    assert ReviewEvent.objects.filter(action="unmerge").count() == 4
    expect(page.get_by_role("button", name="Merge…")).to_be_visible()


# -- Chinese everywhere ------------------------------------------------------------------


def zh_world() -> Catalog:
    """Every status, mode and stage a page can show, and a review queue."""
    catalog = build_catalog(products=2)
    product = catalog.products[0]
    ProductTagFactory(product=product, tag=catalog.tags["red"], source="human", state="approved")
    ProductTagFactory(product=product, tag=catalog.tags["wool"], source="human", state="rejected")
    metrics = {"micro_f1": 0.7, "macro_f1": 0.5, "n_eval": 4, "eval_fingerprint": "0123abcd"}
    ModelVersionFactory(mode="head", status="archived", metrics=metrics)
    ModelVersionFactory(mode="full", status="ready", metrics=metrics)
    ModelVersionFactory(mode="head", status="failed")
    TrainingRunFactory(mode="head", status="failed", error="Boom", in_flight=None)
    TrainingRunFactory(mode="full", status="running", stage="head_epoch:3", progress=42)
    ImportBatchFactory(status="succeeded", finished_at=timezone.now())
    ImportBatchFactory(status="running", stage="reading", progress=30)
    failed = ImportBatchFactory(
        status="failed",
        finished_at=timezone.now(),
        rows_rejected=2,
        errors=[
            {"line": 2, "reason": "id is empty"},
            {"line": 3, "reason": "language 'klingon' is not a language code such as en or zh"},
        ],
    )
    catalog.failed_import = failed  # type: ignore[attr-defined]
    return catalog


def english_left(page: Page) -> list[str]:
    return sorted(set(ENGLISH_STATUS.findall(page.locator("body").inner_text())))


def choose_chinese(page: Page) -> None:
    page.locator("#lang-select").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


def test_the_chinese_pages_show_no_english_status(
    browser: Browser, page: Page, live_server: object, admin_user: User
) -> None:
    compile_messages()
    base = live_server.url  # type: ignore[attr-defined]
    world = zh_world()
    log_in(page, base, admin_user)
    choose_chinese(page)

    found = {}
    batch = f"/import/{world.failed_import.pk}/"  # type: ignore[attr-defined]
    for path in ("/review/", "/training/", "/import/", batch):
        page.goto(f"{base}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        found[path] = english_left(page)

    assert found == {"/review/": [], "/training/": [], "/import/": [], batch: []}
    # Import problems read in Chinese too.
    page.goto(f"{base}{batch}")
    expect(page.locator("body")).to_contain_text("id 为空")
    expect(page.locator("body")).to_contain_text("不是 en、zh 这样的语言代码")
    # The stage and the statuses do show, translated.
    page.goto(f"{base}/training/")
    body = page.locator("body")
    expect(body).to_contain_text("训练分类头，第 3 轮")
    expect(body).to_contain_text("已归档")
    expect(body).to_contain_text("冻结编码器 + 分类头")


def test_the_language_is_kept_across_logins(
    browser: Browser, page: Page, live_server: object, merchandiser: User
) -> None:
    compile_messages()
    base = live_server.url  # type: ignore[attr-defined]
    build_catalog(products=1)
    log_in(page, base, merchandiser)
    choose_chinese(page)
    page.locator(".userbox form button.link").click()

    # Another browser, which has never seen the switcher.
    context, other = new_page(browser)
    try:
        log_in(other, base, merchandiser)
        expect(other.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(other.locator("h1")).to_contain_text("仪表盘")
    finally:
        context.close()


def test_the_review_page_names_the_queue_strategy_in_chinese(
    page: Page, live_server: object, merchandiser: User
) -> None:
    compile_messages()
    base = live_server.url  # type: ignore[attr-defined]
    build_catalog(products=1)
    log_in(page, base, merchandiser)
    choose_chinese(page)
    page.goto(f"{base}/review/")

    why = page.locator(".why")
    expect(why).not_to_contain_text("uncertainty")
    expect(why).to_contain_text("最不确定的优先")


# -- long unbroken text ---------------------------------------------------------------------


def one_line(page: Page, selector: str) -> bool:
    badge = page.locator(selector).first
    height = badge.evaluate("el => el.getBoundingClientRect().height")
    line = badge.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 20")
    return bool(height < 2 * line)


def test_long_unbroken_text_wraps_instead_of_widening_the_page(
    browser: Browser, live_server: object, admin_user: User
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    catalog = build_catalog(products=0)
    long_tag = TagFactory(group=catalog.material, name="x" * 200)
    product = ProductFactory(external_id="long", title="T" * 1000)
    ProductTagFactory(product=product, tag=long_tag, source="human", state="approved")
    enqueue(product, priority=1.0)
    context, page = new_page(browser, width=1280, height=800)
    try:
        log_in(page, base, admin_user)
        for path in ("/products/", f"/products/{product.pk}/"):
            page.goto(f"{base}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"{path} is {width} px wide"
            # Nor does a table overflow its box (and scroll sideways).
            overflowing = page.evaluate(
                "[...document.querySelectorAll('.table-wrap')]"
                ".filter(w => w.scrollWidth > w.clientWidth + 1).length"
            )
            assert overflowing == 0, f"{path} has a table wider than its box"
        # The "approved" badge beside the long tag stays on one line, in the
        # product's table and on the review page.
        assert one_line(page, "td .badge.ok")
        page.goto(f"{base}/review/")
        expect(page.locator("#product-title")).to_contain_text("TTTT")
        assert one_line(page, ".tag-row .badge.ok")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"/review/ is {width} px wide"
    finally:
        context.close()
