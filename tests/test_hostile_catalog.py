"""A hostile catalogue and taxonomy, imported and shown everywhere they appear.

Product text, ids, brands, categories, attributes, facet and tag names, and
usernames carry markup, entity-encoded markup (cleaning decodes it back into
literal text), template syntax, bidirectional overrides, a 5,000-character word
and SQL-looking text. No page may hand any of it to the browser as markup, and
the CSV export may not hand a spreadsheet a formula."""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from annotation import roles
from annotation.models import Product, ProductTag, QueueEntry, Tag
from annotation.services.tokens import create_token
from tests.factories import (
    ModelVersionFactory,
    QueueEntryFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONG_WORD = "W" * 5000
RLO = "\u202e"  # right-to-left override: "abc\u202egnp.exe" displays as "abcexe.png"
ROWS = [
    {
        "id": '<script>alert("id")</script>',
        "title": "&lt;script&gt;alert(1)&lt;/script&gt; Shirt",
        "description": "<img src=x onerror=alert(2)> Soft {{ request.user.password }} {% debug %}",
        "brand": "&quot;&gt;&lt;svg onload=alert(3)&gt;",
        "category": "{% debug %} > &lt;b&gt;x&lt;/b&gt;",
        "material": '<script>alert("attribute")</script>',
        "tags": [
            'style:&lt;script&gt;alert("imported")&lt;/script&gt;',
            "colour:{{ settings.SECRET_KEY }}",
        ],
    },
    {
        "id": '=HYPERLINK("http://evil.example","x")',
        "title": f"Invoice abc{RLO}gnp.exe",
        "description": f"'; DROP TABLE annotation_product; -- \" OR 1=1 -- {LONG_WORD}",
        "brand": "+cmd|' /C calc'!A0",
        "tags": ["colour:=SUM(1+1)"],
    },
    {"id": "bad-url", "title": "Mug", "image_url": "javascript:alert(4)"},
]
# Raw markup that must never appear in a page as it came in.
FORBIDDEN = [
    "<script>alert",
    "<img src=x",
    "<svg onload",
    "<b onmouseover",
    "<b>x</b>",
    RLO,
    'src="javascript:',
    'href="javascript:',
]


@dataclass
class Hostile:
    products: list[Product]
    tags: list[Tag]
    reviewer: Client
    admin: Client
    import_page: str


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def assert_inert(html: str) -> None:
    for fragment in FORBIDDEN:
        assert fragment not in html, f"{fragment!r} reached the page"
    # Template syntax stays text: no debug dump, no password hash.
    assert "sql_queries" not in html
    assert "md5$" not in html
    assert "pbkdf2_sha256$" not in html


@pytest.fixture
def hostile(
    make_user: object, admin_user: User, django_capture_on_commit_callbacks: Any
) -> Hostile:
    colour = TagGroupFactory(name="colour", display_name_en="<b onmouseover=alert(5)>Colour</b>")
    TagFactory(group=colour, name='"><img src=x onerror=alert("tag")>')
    TagFactory(group=colour, name="-2+3", display_name_en="{% debug %}")
    admin = Client()
    admin.force_login(admin_user)
    # The import page itself: the rejected row's reason quotes the bad URL.
    upload = SimpleUploadedFile("hostile.jsonl", _jsonl(ROWS))
    with django_capture_on_commit_callbacks(execute=True):
        posted = admin.post("/import/", {"file": upload, "keep_valid": "on"})
    assert posted.status_code == 302
    page = admin.get(posted["Location"])
    assert page.status_code == 200
    products = list(Product.objects.order_by("pk"))
    assert len(products) == 2
    tags = list(Tag.objects.order_by("pk"))
    # An active model that suggests every tag for the first product, with evidence.
    version = ModelVersionFactory(
        mode="head",
        status="active",
        base_model="hostile",
        thresholds={t.key: 0.5 for t in tags},
        tag_vocab=[t.key for t in tags],
        metrics={
            "micro_f1": 0.5,
            "macro_f1": 0.5,
            "per_tag": {
                t.key: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1} for t in tags
            },
        },
    )
    for i, tag in enumerate(tags):
        SuggestionFactory(
            product=products[0],
            tag=tag,
            model_version=version,
            score=0.9 - i / 10,
            selected=i < 2,
            evidence=[[0, 8]],
        )
    # The import queued both products for review; these priorities replace that.
    QueueEntry.objects.all().delete()
    QueueEntryFactory(product=products[0], priority=1.0)
    QueueEntryFactory(product=products[1], priority=0.5)
    # A decision by a user whose name looks like a formula.
    evil = UserFactory(username="=1+2@evil")
    ProductTag.objects.filter(product=products[1]).update(decided_by=evil)
    reviewer = Client()
    reviewer.force_login(make_user("rev", roles.MERCHANDISER))  # type: ignore[operator]
    return Hostile(products, tags, reviewer, admin, page.content.decode())


def test_the_catalogue_is_stored_as_text_not_stripped_of_meaning(hostile: Hostile) -> None:
    first, second = hostile.products
    assert first.external_id == '<script>alert("id")</script>'
    assert first.title == "<script>alert(1)</script> Shirt"
    assert first.brand == '"><svg onload=alert(3)>'
    assert first.attributes == {"material": '<script>alert("attribute")</script>'}
    assert "{% debug %}" in first.description
    assert RLO not in second.title
    assert LONG_WORD in second.description
    assert Product.objects.filter(title__contains="DROP TABLE").count() == 0
    assert "DROP TABLE annotation_product" in second.description


def test_the_import_report_shows_the_rejected_url_as_text(hostile: Hostile) -> None:
    assert_inert(hostile.import_page)
    assert "javascript:alert(4)" in hostile.import_page


def test_the_review_page_escapes_product_text_and_tag_names(hostile: Hostile) -> None:
    response = hostile.reviewer.get("/review/")

    html = response.content.decode()
    assert response.status_code == 200
    assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the title, as text
    assert "&lt;script&gt;alert(&quot;imported&quot;)&lt;/script&gt;" in html  # a tag name
    assert "&quot;&gt;&lt;svg onload=alert(3)&gt;" in html  # the brand
    assert "{{ request.user.password }}" in html  # template syntax stays literal


@pytest.mark.parametrize(
    "path",
    [
        "/products/",
        "/products/?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "/products/?tag=%3Cscript%3Ealert(1)%3C/script%3E",
        "/products/?has_tag=colour:%22%3E%3Cimg%20src=x%20onerror=alert(%22tag%22)%3E",
    ],
)
def test_the_product_list_escapes_text_and_echoed_filters(hostile: Hostile, path: str) -> None:
    response = hostile.reviewer.get(path)

    assert response.status_code == 200
    assert_inert(response.content.decode())


def test_the_product_pages_escape_every_field(hostile: Hostile) -> None:
    for product in hostile.products:
        response = hostile.reviewer.get(f"/products/{product.pk}/")

        html = response.content.decode()
        assert response.status_code == 200
        assert_inert(html)
        assert escape(product.external_id) in html
        assert escape(product.title) in html


def test_the_dashboard_taxonomy_and_models_pages_escape_tag_and_facet_names(
    hostile: Hostile,
) -> None:
    paths = ["/", "/taxonomy/", "/taxonomy/?q=%3Cscript%3E", "/training/"]
    paths += [f"/taxonomy/tags/{tag.pk}/" for tag in hostile.tags]
    for path in paths:
        response = hostile.admin.get(path)

        assert response.status_code == 200, path
        assert_inert(response.content.decode())
    taxonomy = hostile.admin.get("/taxonomy/").content.decode()
    assert "&lt;b onmouseover=alert(5)&gt;Colour&lt;/b&gt;" in taxonomy


def test_the_tag_index_is_json_that_no_browser_renders(hostile: Hostile) -> None:
    response = hostile.reviewer.get("/review/tags.json")

    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    names = [row[2] for row in json.loads(response.content)["tags"]]
    assert '<script>alert("imported")</script>' in names


def test_pages_forbid_inline_script_and_javascript_urls(hostile: Hostile) -> None:
    csp = hostile.reviewer.get("/review/")["Content-Security-Policy"]

    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "img-src 'self' data: https: http:" in csp  # no javascript: images


@pytest.fixture
def exporter(admin_user: User) -> APIClient:
    _, key = create_token(user=admin_user, name="export", scope="export", created_by=admin_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    ProductTag.objects.update(updated_at=timezone.now())
    return client


def test_the_json_export_carries_the_values_exactly(hostile: Hostile, exporter: APIClient) -> None:
    Product.objects.update(tags_updated_at=timezone.now())

    response = exporter.get("/api/v1/export/", {"format": "json"})

    assert response["Content-Type"].startswith("application/json")
    ids = {r["id"] for r in response.json()["results"]}
    assert ids == {p.external_id for p in hostile.products}


def test_the_csv_export_neutralises_formulas(hostile: Hostile, exporter: APIClient) -> None:
    Product.objects.update(tags_updated_at=timezone.now())

    response = exporter.get("/api/v1/export/", {"format": "csv"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows
    for row in rows:
        for column in ("id", "tag", "facet", "value", "decided_by"):
            assert not row[column].startswith(("=", "+", "-", "@")), (column, row[column])
    formula_row = next(r for r in rows if "HYPERLINK" in r["id"])
    assert formula_row["id"] == '\'=HYPERLINK("http://evil.example","x")'
    assert formula_row["value"] == "'=SUM(1+1)"
    assert formula_row["decided_by"] == "'=1+2@evil"
