from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.annotation.ui_catalog import (
    build_catalog,
    compile_messages,
    enqueue,
    suggest,
)
from tests.factories import ProductFactory

PO_FILE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module", autouse=True)
def _compiled_messages() -> None:
    compile_messages()


@pytest.fixture
def chinese_client(client: Client, merchandiser: User) -> Client:
    client.force_login(merchandiser)
    client.cookies["django_language"] = "zh-hans"
    return client


def test_every_ui_string_has_a_chinese_translation() -> None:
    with PO_FILE.open("rb") as f:
        catalog = read_po(f)

    untranslated = [
        m.id
        for m in catalog
        if m.id and not any(m.string if isinstance(m.string, tuple) else [m.string])
    ]

    assert untranslated == []
    assert catalog.plural_forms == "nplurals=1; plural=0;"


@pytest.mark.django_db
def test_the_dashboard_speaks_chinese(chinese_client: Client) -> None:
    build_catalog(products=1)

    html = chinese_client.get(reverse("training:dashboard")).content.decode()

    assert '<html lang="zh-hans">' in html
    assert "仪表盘" in html
    assert "每个标签的已通过样本数" in html
    assert "退出登录" in html


@pytest.mark.django_db
def test_the_review_page_shows_chinese_names_and_product_text(chinese_client: Client) -> None:
    catalog = build_catalog(products=0)
    product = ProductFactory(
        external_id="ZH-1",
        title="纯棉T恤 红色 男款",
        description="透气舒适，适合夏天。",
        language="zh",
    )
    enqueue(product, priority=1.0)
    suggest(product, catalog.tags["red"], catalog.version, 0.9, evidence=[(5, 7)])

    response = chinese_client.get(reverse("annotation:review"))

    html = response.content.decode()
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert '<h1 id="product-title" class="product-title" tabindex="-1" lang="zh">' in html
    assert f'纯棉T恤 <mark data-tags="{catalog.tags["red"].pk}">红色</mark> 男款' in html
    # NFKC (what the model reads) folds the full-width comma.
    assert "透气舒适,适合夏天。" in html
    assert "颜色" in html  # the facet's Chinese display name
    assert "提交" in html  # "Submit"


@pytest.mark.django_db
def test_english_stays_the_default(client: Client, merchandiser: User) -> None:
    build_catalog(products=0)
    client.force_login(merchandiser)

    html = client.get(reverse("training:dashboard")).content.decode()

    assert '<html lang="en">' in html
    assert "Approved examples per tag" in html
