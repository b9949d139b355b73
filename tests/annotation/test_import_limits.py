"""The caps that bound what one import may cost (docs/security.md, "Uploads"),
each proven with the setting lowered: the file or row is refused with a clear
message, nothing is written, and reading stops where the cap is reached."""

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from annotation.errors import ImportFileError
from annotation.models import ImportBatch, Product
from annotation.services.importing import ImportProgress, ImportResult, import_products, json_stream
from annotation.services.importing.streams import Peekable

pytestmark = pytest.mark.django_db


def jsonl(*rows: object) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def run(data: bytes, name: str = "products.jsonl", **kwargs: Any) -> ImportResult:
    return import_products(io.BytesIO(data), filename=name, **kwargs)


def file_error(result: ImportResult) -> str:
    """The reason the file as a whole was refused (it comes first)."""
    assert result.batch.status == ImportBatch.Status.FAILED
    assert Product.objects.count() == 0
    return result.errors[0].reason


def rows(count: int) -> list[dict[str, Any]]:
    return [{"id": f"p{i}", "title": f"Shirt {i}"} for i in range(count)]


# -- inflated size ------------------------------------------------------------------------


@override_settings(TAGGER_IMPORT_MAX_INFLATED_BYTES=100_000)
def test_a_gzip_that_inflates_past_the_cap_is_refused_and_read_no_further() -> None:
    # 2 MB of rows in a 10 KB gzip: a small bomb.
    inflated = jsonl(*[{"id": "p", "title": "x" * 200}] * 10_000)
    seen: list[ImportProgress] = []

    result = run(gzip.compress(inflated), "bomb.jsonl.gz", progress=seen.append)

    assert "the data is over 97.7 KiB once decompressed" in file_error(result)
    assert "split the catalogue" in result.errors[0].reason
    # It stopped at the cap: a few hundred rows read, not ten thousand.
    assert result.batch.rows_total < 1_000
    assert all(report.rows < 1_000 for report in seen)


@override_settings(TAGGER_IMPORT_MAX_INFLATED_BYTES=100_000)
def test_a_plain_file_past_the_cap_is_refused() -> None:
    result = run(jsonl(*rows(5_000)))

    assert "the file is over 97.7 KiB, the most one import reads" in file_error(result)


@override_settings(TAGGER_IMPORT_MAX_INFLATED_BYTES=100_000)
def test_a_json_document_past_the_cap_is_refused() -> None:
    result = run(json.dumps(rows(5_000)).encode(), "products.json")

    assert "the file is over 97.7 KiB" in file_error(result)


# -- line length --------------------------------------------------------------------------


@override_settings(TAGGER_IMPORT_MAX_LINE_BYTES=1_000)
def test_a_line_past_the_cap_is_refused_with_its_number() -> None:
    line = json.dumps({"id": "p1", "title": "x"})
    at_the_cap = (line[:-1] + " " * (1_000 - len(line)) + "}").encode()
    assert len(at_the_cap) == 1_000
    over_the_cap = at_the_cap[:-1] + b" }"

    result = run(at_the_cap + b"\n" + over_the_cap + b"\n")

    assert "the line is longer than 1,000 bytes" in file_error(result)
    assert result.errors[0].line == 2


@override_settings(TAGGER_IMPORT_MAX_LINE_BYTES=1_000)
def test_a_gzip_of_one_endless_line_is_refused_at_the_cap() -> None:
    result = run(gzip.compress(b"id,title\n1," + b"0" * 2_000_000), "zeros.csv.gz")

    assert "the line is longer than 1,000 bytes" in file_error(result)
    assert result.errors[0].line == 2


@override_settings(TAGGER_IMPORT_MAX_LINE_BYTES=1_000)
def test_a_csv_row_that_spans_lines_past_the_cap_is_refused() -> None:
    # An open quote swallows every following line into one cell.
    data = b'id,title\n1,"Mug\n' + b"more text on another line\n" * 100

    result = run(data, "products.csv")

    reason = file_error(result)
    assert "the row is longer than 1,000 bytes" in reason
    assert 'is a quote (") left open?' in reason
    assert result.errors[0].line == 2


@override_settings(TAGGER_IMPORT_MAX_LINE_BYTES=1_000)
def test_a_json_element_past_the_cap_is_refused() -> None:
    data = json.dumps([{"id": "p1", "title": "Mug"}, {"id": "p2", "title": "x" * 5_000}])

    result = run(data.encode(), "products.json")

    assert "a JSON value here is over 1,000 bytes" in file_error(result)


def read_as_it_goes(seen: list[ImportProgress], size: int) -> bool:
    """Whether the reports show the file read a part at a time, not all at once."""
    return bool(seen) and seen[0].bytes_read < size / 2


@override_settings(TAGGER_IMPORT_MAX_LINE_BYTES=1_000)
def test_a_json_document_is_read_one_product_at_a_time() -> None:
    # 200 KB of JSON, pretty-printed over many lines, read through a window of
    # about one product: each product is under the cap, the document far over.
    document = {"source": "shop", "products": rows(3_000), "exported": "2026-01-01"}
    data = json.dumps(document, indent=2).encode()
    seen: list[ImportProgress] = []

    result = run(data, "products.json", progress=seen.append)

    assert result.succeeded, result.errors
    assert result.created == 3_000
    assert read_as_it_goes(seen, len(data))


def test_a_json_error_far_into_a_read_document_names_its_line_and_column() -> None:
    lines = json.dumps(rows(3_000), indent=1).splitlines()
    broken = next(n for n in range(9_000, len(lines)) if '"title"' in lines[n])
    lines[broken] = lines[broken].replace('"title"', "'title'")
    data = "\n".join(lines).encode()
    seen: list[ImportProgress] = []

    result = run(data, "products.json", progress=seen.append)

    assert read_as_it_goes(seen, len(data))
    assert result.errors[0].line == broken + 1
    assert "the JSON is malformed: Expecting property name" in result.errors[0].reason
    assert "(column 3)" in result.errors[0].reason


def test_invalid_utf8_far_into_a_read_json_document_names_its_byte_offset() -> None:
    head = json.dumps(rows(6_000))[:-1].encode()
    data = head + b', {"id": "bad", "title": "Caf\xe9"}]'
    seen: list[ImportProgress] = []

    result = run(data, "products.json", progress=seen.append)

    assert read_as_it_goes(seen, len(data))
    offset = data.index(b"\xe9")
    assert result.errors[0].reason.startswith(f"invalid UTF-8 at byte offset {offset}")


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_a_json_document_read_in_tiny_pieces_reads_as_json_loads_does(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # Numbers, escapes and multi-byte characters cut at every point of the window.
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    products = [
        {"id": "p1", "title": "Café 中文", "price": 12345678901234, "weight": -2.5e-3},
        {"id": "p2", "title": 'Mug "Lt"\n', "sizes": [1.25, 100, {"cm": 30}]},
    ]
    document = json.dumps({"meta": {"n": 2}, "products": products}, ensure_ascii=False)

    items = list(json_stream.json_items(Peekable(io.BytesIO(document.encode())), 10_000))
    with pytest.raises(ImportFileError) as refused:
        list(json_stream.json_items(Peekable(io.BytesIO(b'[{"id": 12.5e}]')), 10_000))

    assert items == products
    assert refused.value.line == 1
    assert "Expecting ',' delimiter (column 13)" in refused.value.reason


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_a_json_line_nested_past_the_recursion_limit_is_a_row_error() -> None:
    result = run(jsonl({"id": "p1", "title": "Mug"}) + DEEP + b"\n", keep_valid=True)

    assert result.created == 1
    assert result.errors[0].line == 2
    assert "malformed JSON: the JSON is nested too deeply" in result.errors[0].reason


def test_a_json_document_nested_past_the_recursion_limit_is_refused() -> None:
    result = run(b'[{"id": "p1", "title": "Mug"}, ' + DEEP + b"]", "products.json")

    assert file_error(result) == "the JSON is nested too deeply"


# -- columns and attributes ------------------------------------------------------------------


@override_settings(TAGGER_IMPORT_MAX_COLUMNS=10)
def test_a_csv_header_with_too_many_columns_is_refused() -> None:
    header = ",".join(["id", "title", *(f"c{i}" for i in range(9))])
    data = f"{header}\n1,Mug,{','.join('v' * 9)}\n".encode()

    result = run(data, "products.csv")

    assert "the header has 11 columns; the limit is 10" in file_error(result)


def test_a_csv_of_a_thousand_columns_is_not_one_product_with_a_thousand_attributes() -> None:
    header = ",".join(["id", "title", *(f"c{i}" for i in range(1_000))])
    data = f"{header}\n1,Mug,{','.join(['v'] * 1_000)}\n".encode()

    result = run(data, "products.csv")

    assert "the header has 1,002 columns; the limit is 500" in file_error(result)


@override_settings(TAGGER_IMPORT_MAX_ATTRIBUTES=3)
def test_a_product_with_too_many_attributes_is_rejected() -> None:
    good = {"id": "p1", "title": "Mug", "a": 1, "attributes": {"b": 2, "c": 3}}
    bad = {"id": "p2", "title": "Cup", "a": 1, "d": 4, "attributes": {"b": 2, "c": 3}}

    result = run(jsonl(good, bad), keep_valid=True)

    assert result.created == 1
    assert result.errors[0].line == 2
    assert "the product has 4 attributes; the limit is 3" in result.errors[0].reason


@override_settings(TAGGER_IMPORT_MAX_ATTRIBUTES=3)
def test_a_row_with_thousands_of_keys_is_rejected_before_any_work() -> None:
    row = {"id": "p1", "title": "Mug", **{f"k{i}": i for i in range(1_000)}}

    result = run(jsonl(row))

    assert "the product has 1,002 fields" in result.errors[0].reason
    assert result.batch.status == ImportBatch.Status.FAILED


@override_settings(TAGGER_IMPORT_MAX_ATTRIBUTE_BYTES=100)
def test_attributes_larger_than_the_cap_are_rejected() -> None:
    row = {"id": "p1", "title": "Mug", "attributes": {"notes": "x" * 200}}

    result = run(jsonl(row))

    # {"notes":"xx…x"}: 212 bytes.
    assert "the attributes take 212 bytes as JSON; the limit is 100 bytes" in (
        result.errors[0].reason
    )
    assert Product.objects.count() == 0


def test_a_product_with_more_than_a_thousand_tags_is_rejected() -> None:
    row = {"id": "p1", "title": "Mug", "tags": [f"color:c{i}" for i in range(1_001)]}

    result = run(jsonl(row))

    assert "the product has 1,001 tags; the limit is 1,000" in result.errors[0].reason


# -- row errors ---------------------------------------------------------------------------


@override_settings(TAGGER_IMPORT_MAX_ERRORS=5)
def test_only_the_first_errors_are_kept_and_the_rest_counted() -> None:
    data = b"id,title\n" + b"".join(f"{i},\n".encode() for i in range(50))

    result = run(data, "products.csv")

    assert [e.line for e in result.errors] == [2, 3, 4, 5, 6]
    assert (result.rejected, result.omitted_errors) == (50, 45)
    batch = ImportBatch.objects.get()
    assert len(batch.errors) == 5
    assert (batch.rows_rejected, batch.errors_omitted) == (50, 45)


@override_settings(TAGGER_IMPORT_MAX_ERRORS=5, TAGGER_IMPORT_MAX_INFLATED_BYTES=100_000)
def test_the_reason_the_file_stopped_comes_before_the_row_errors() -> None:
    data = b"id,title\n" + b"".join(f"{i},\n".encode() for i in range(50_000))

    result = run(data, "products.csv")

    assert "the file is over" in result.errors[0].reason
    assert len(result.errors) == 6


# -- the command line ---------------------------------------------------------------------


@override_settings(TAGGER_IMPORT_MAX_INFLATED_BYTES=100_000)
def test_the_command_applies_the_same_caps(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(*[{"id": "p", "title": "x" * 200}] * 10_000)))
    out = io.StringIO()

    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("import_products", str(path), stdout=out)

    assert "the data is over 97.7 KiB once decompressed" in out.getvalue()
    assert Product.objects.count() == 0
