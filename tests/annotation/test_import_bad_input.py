"""Files a merchandiser might really upload, and what the import says about
them. Every rejection names the line and the reason, and leaves no partial
batch behind (all-or-nothing unless keep_valid)."""

import gzip
import io
import json
import zipfile

import pytest

from annotation.models import ImportBatch, Product, ProductTag, Tag, TagGroup
from annotation.services.importing import ImportResult, import_products

pytestmark = pytest.mark.django_db


def jsonl(*rows: object) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def run(data: bytes, name: str = "products.jsonl", **kwargs: object) -> ImportResult:
    return import_products(io.BytesIO(data), filename=name, **kwargs)  # type: ignore[arg-type]


def db_counts() -> tuple[int, int, int, int]:
    return (
        Product.objects.count(),
        TagGroup.objects.count(),
        Tag.objects.count(),
        ProductTag.objects.count(),
    )


@pytest.fixture
def before() -> tuple[int, int, int, int]:
    """A catalogue that already holds one tagged product."""
    run(jsonl({"id": "old-1", "title": "Old shirt", "tags": ["color:Red"]}))
    return db_counts()


GOOD = {"id": "p1", "title": "Blue cotton shirt", "tags": ["color:Blue", "material:Cotton"]}


def assert_rejected(
    result: ImportResult, line: int, reason: str, before: tuple[int, int, int, int]
) -> None:
    assert result.batch.status == ImportBatch.Status.FAILED
    assert any(e.line == line and reason in e.reason for e in result.errors), result.errors
    assert db_counts() == before
    assert result.created == result.updated == 0


def test_it_reports_invalid_utf8_with_the_line_and_byte_offset(before: tuple) -> None:
    first = jsonl(GOOD)
    bad = b'{"id": "p2", "title": "Caf\xe9 mug"}\n'

    result = run(first + bad)

    offset = len(first) + bad.index(b"\xe9")
    assert_rejected(result, 2, f"invalid UTF-8 at byte offset {offset}", before)


def test_it_refuses_a_csv_without_an_id_column_and_names_the_expected_ones(before: tuple) -> None:
    result = run(b"sku,title\nA1,Blue shirt\n", "products.csv")

    assert_rejected(result, 1, "no id or external_id column", before)
    assert "sku" in result.errors[-1].reason


def test_it_refuses_a_csv_without_a_title_column(before: tuple) -> None:
    result = run(b"id,name\nA1,Blue shirt\n", "products.csv")

    assert_rejected(result, 1, "no title column", before)


def test_it_keeps_unknown_columns_as_attributes(before: tuple) -> None:
    result = run(b"id,title,Material,season\nA1,Blue shirt,cotton,\n", "products.csv")

    assert result.succeeded
    assert result.errors == []
    # An empty cell adds no attribute.
    assert Product.objects.get(external_id="A1").attributes == {"Material": "cotton"}


def test_it_rejects_a_title_that_is_empty_after_cleaning(before: tuple) -> None:
    data = b"id,title\nA1,Blue shirt\nA2,<b>  </b>\n"

    result = run(data, "products.csv")

    assert_rejected(result, 3, "title is empty", before)


def test_it_rejects_a_title_over_the_limit(before: tuple) -> None:
    result = run(jsonl(GOOD, {"id": "p2", "title": "x" * 1001}))

    assert_rejected(result, 2, "title is 1,001 characters long; the limit is 1,000", before)


def test_it_rejects_a_one_megabyte_description_with_the_limit_in_the_message(
    before: tuple,
) -> None:
    huge = {"id": "p2", "title": "Rug", "description": "wool " * 209_716}

    result = run(jsonl(GOOD, huge))

    assert_rejected(result, 2, "description is 1,048,580 characters long", before)
    assert "the limit is 100,000 characters" in result.errors[0].reason


def test_it_rejects_a_duplicate_id_and_names_the_first_line(before: tuple) -> None:
    rows = jsonl(GOOD, {"id": "p2", "title": "Mug"}, {"id": "p1", "title": "Again"})

    result = run(rows)

    assert_rejected(result, 3, "appears twice: first on line 1", before)


def test_it_rejects_a_tag_that_is_not_facet_value(before: tuple) -> None:
    result = run(jsonl(GOOD, {"id": "p2", "title": "Mug", "tags": ["Blue"]}))

    assert_rejected(result, 2, "tag 'Blue' is not in facet:value form", before)


def test_it_rejects_a_deprecated_tag(before: tuple) -> None:
    Tag.objects.filter(name="Red").update(status=Tag.Status.DEPRECATED)

    result = run(jsonl(GOOD, {"id": "p2", "title": "Mug", "tags": ["color:red"]}))

    assert_rejected(result, 2, "the tag color:red is deprecated", before)


def test_it_strips_html_and_drops_script_bodies(before: tuple) -> None:
    row = {
        "id": "p2",
        "title": "<b>Red</b> <script>alert('x')</script>shirt",
        "description": "<p>Soft&nbsp;cotton</p><style>p { color: red }</style>",
    }

    result = run(jsonl(row))

    assert result.succeeded
    product = Product.objects.get(external_id="p2")
    assert product.title == "Red shirt"
    assert product.description == "Soft cotton"
    assert "alert" not in product.normalized_text


def test_it_reports_a_malformed_json_line(before: tuple) -> None:
    data = jsonl(GOOD) + b'{"id": "p2", "title": \n'

    result = run(data)

    assert_rejected(result, 2, "malformed JSON", before)


def test_it_reports_a_truncated_gzip(before: tuple) -> None:
    rows = [{"id": f"p{i}", "title": f"Shirt number {i}", "n": i * 7919} for i in range(400)]
    packed = gzip.compress(jsonl(*rows))

    result = run(packed[: len(packed) // 2], "products.jsonl.gz")

    assert result.batch.status == ImportBatch.Status.FAILED
    error = result.errors[-1]
    assert error.line >= 1
    assert "the gzip file is truncated" in error.reason
    assert db_counts() == before


def test_it_reports_an_empty_file(before: tuple) -> None:
    result = run(b"", "products.csv")

    assert_rejected(result, 0, "the file is empty", before)


def test_it_reports_a_file_of_blank_lines_as_empty(before: tuple) -> None:
    result = run(b"\n  \n\n", "products.jsonl")

    assert_rejected(result, 0, "the file is empty", before)


def test_it_refuses_an_image_uploaded_as_csv(before: tuple) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    result = run(png, "products.csv")

    assert_rejected(result, 0, "not a CSV/JSON/JSONL file (it looks like a PNG image)", before)


def test_it_refuses_an_excel_workbook(before: tuple) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")

    result = run(buffer.getvalue(), "products.xlsx")

    assert_rejected(result, 0, "save it as CSV", before)


def test_it_refuses_a_json_document_that_is_not_a_list(before: tuple) -> None:
    result = run(b'{"id": "p1", "title": "Blue shirt"}', "products.json")

    assert_rejected(result, 1, "a JSON file must hold a list of products", before)


def test_it_rejects_a_json_element_that_is_not_an_object(before: tuple) -> None:
    data = json.dumps([GOOD, ["p2", "Mug"]]).encode()

    result = run(data, "products.json")

    assert_rejected(result, 2, "expected a JSON object for a product, found a list", before)


def test_it_rejects_a_jsonl_line_that_is_not_an_object(before: tuple) -> None:
    result = run(jsonl(GOOD) + b"42\n")

    assert_rejected(result, 2, "expected a JSON object for a product, found a number", before)


def test_it_rejects_a_bad_image_url(before: tuple) -> None:
    result = run(jsonl(GOOD, {"id": "p2", "title": "Mug", "image_url": "javascript:alert(1)"}))

    assert_rejected(result, 2, "image_url is not a valid http(s) URL", before)


def test_it_names_a_missing_required_field(before: tuple) -> None:
    result = run(jsonl(GOOD, {"id": "p2", "name": "Mug"}))

    assert_rejected(result, 2, "missing required field: title", before)


def test_it_rejects_a_csv_row_with_too_many_values(before: tuple) -> None:
    data = b"id,title\nA1,Blue shirt\nA2,Mug,extra\n"

    result = run(data, "products.csv")

    assert_rejected(result, 3, "the row has 3 values but the header has 2 columns", before)


def test_it_counts_csv_lines_physically_across_quoted_newlines(before: tuple) -> None:
    data = b'id,title,description\nA1,Shirt,"two\nlines"\nA2,,x\n'

    result = run(data, "products.csv")

    assert_rejected(result, 4, "title is empty", before)


def test_it_records_the_failed_batch_with_its_errors(before: tuple) -> None:
    result = run(jsonl(GOOD, {"id": "p2", "title": ""}))

    batch = ImportBatch.objects.get(pk=result.batch.pk)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.rows_total == 2
    assert batch.rows_rejected == 1
    assert batch.errors == [{"line": 2, "reason": result.errors[0].reason}]
    assert batch.finished_at is not None


def test_keep_valid_writes_only_the_good_rows(before: tuple) -> None:
    rows = jsonl(GOOD, {"id": "p2", "title": "  "}, {"id": "p3", "title": "Mug"})

    result = run(rows, keep_valid=True)

    assert result.batch.status == ImportBatch.Status.SUCCEEDED
    assert (result.created, result.rejected) == (2, 1)
    assert [(e.line, "title is empty" in e.reason) for e in result.errors] == [(2, True)]
    assert set(Product.objects.values_list("external_id", flat=True)) == {"old-1", "p1", "p3"}


def test_it_rejects_pathological_markup_instead_of_hanging(before: tuple) -> None:
    row = {"id": "p2", "title": "Rug", "description": "<script>" * 20_000}

    result = run(jsonl(GOOD, row))

    assert_rejected(result, 2, "description contains malformed HTML", before)


def test_it_rejects_nan_which_no_database_json_column_accepts(before: tuple) -> None:
    result = run(jsonl(GOOD) + b'{"id": "p2", "title": "Mug", "attributes": {"w": NaN}}\n')

    assert_rejected(result, 2, "NaN is not a valid JSON value", before)


def test_it_stores_attributes_with_nul_and_lone_surrogates_replaced(before: tuple) -> None:
    # PostgreSQL cannot store NUL in jsonb; a lone surrogate cannot be UTF-8.
    raw = '{"id": "p2", "title": "Mug", "attributes": {"a\\u0000b": ["x\\ud800y", {"k": "\\u0000"}]}}\n'

    result = run(GOOD_LINE + raw.encode())

    assert result.succeeded, result.errors
    stored = Product.objects.get(external_id="p2").attributes
    assert stored == {"a\ufffdb": ["x\ufffdy", {"k": "\ufffd"}]}


def test_it_rejects_attributes_nested_too_deep(before: tuple) -> None:
    nested: object = "leaf"
    for _ in range(40):
        nested = {"n": nested}

    result = run(jsonl(GOOD, {"id": "p2", "title": "Mug", "attributes": nested}))

    assert_rejected(result, 2, "nested more than 32 levels deep", before)


def test_it_rejects_an_id_with_a_control_character(before: tuple) -> None:
    result = run(jsonl(GOOD, {"id": "p\u00002", "title": "Mug"}))

    assert_rejected(result, 2, "contains control or invalid characters", before)


GOOD_LINE = jsonl(GOOD)
