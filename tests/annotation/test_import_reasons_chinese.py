"""Every problem a real bad file gives reads in Chinese on the import pages,
details included (a kind of file, a JSON or CSV problem), while the importer
and the API keep writing English."""

import gzip
import io
import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from annotation.services.importing import import_products
from annotation.templatetags.import_reasons import translate_reason
from tests.factories import ImportBatchFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_messages")]

# A run of three or more English words left in a translated reason.
ENGLISH = re.compile(r"[A-Za-z]+(?: [A-Za-z]+){2,}")


def reasons(data: bytes, filename: str) -> list[str]:
    result = import_products(io.BytesIO(data), filename=filename)
    return [error.reason for error in result.errors]


BAD_FILES = {
    "row_width": (b"id,title,brand\nA1,Shirt\n", "bad.csv"),
    "duplicate_id": (b"id,title\nA1,Shirt\nA1,Mug\n", "bad.csv"),
    "malformed_jsonl": (b'{"id": "a", "title": "x"}\n{"id": "b", "title": }\n', "bad.jsonl"),
    "unterminated_jsonl": (b'{"id": "a", "title": "x\n', "bad.jsonl"),
    "extra_data_jsonl": (b'{"id": "a", "title": "x"} 3\n', "bad.jsonl"),
    "not_an_object": (b'[{"id": "a", "title": "x"}, [1, 2]]', "bad.json"),
    "malformed_json": (b'[{"id": "a", "title": "x"} {"id": "b"}]', "bad.json"),
    "binary": (b"id,title\n\x00\x01\x02garbage", "bad.csv"),
    "png": (b"\x89PNG\r\n\x1a\nrest", "bad.csv"),
    "zip": (b"PK\x03\x04rest", "bad.csv"),
    "bad_utf8_row": (b"id,title\nA1,Caf\xe9\n", "bad.csv"),
    "bad_utf8_header": (b"id,tit\xe9le\nA1,x\n", "bad.csv"),
    "bad_utf8_gzip": (gzip.compress(b"id,title\nA1,Caf\xe9\n"), "bad.csv.gz"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_problem_of_a_bad_file_reads_in_chinese(case: str) -> None:
    data, filename = BAD_FILES[case]
    found = reasons(data, filename)
    assert found, f"{case}: the file was accepted"

    with translation.override("zh-hans"):
        translated = [translate_reason(reason) for reason in found]

    for english, chinese in zip(found, translated, strict=True):
        assert chinese != english, f"{case}: {english!r} is not translated"
        # Quoted values (ids, file content) may stay as they are; words may not.
        words = ENGLISH.findall(re.sub(r"'[^']*'|\"[^\"]*\"", "", chinese))
        assert words == [], f"{case}: {chinese!r} keeps English {words}"


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        (
            "the row has 2 values but the header has 3 columns "
            "(check the quoting and the separators)",
            "该行有 2 个值，但表头有 3 列（请检查引号和分隔符）",
        ),
        (
            "malformed JSON: Expecting value (column 24)",
            "JSON 格式错误：此处应有一个值（第 24 列）",
        ),
        (
            "this is not a CSV/JSON/JSONL file (it looks like a binary file)",
            "这不是 CSV/JSON/JSONL 文件（看起来是 二进制文件）",
        ),
        (
            "the file is over 1 MiB, the most one import reads; "
            "split the catalogue into smaller files",
            "文件超过 1 MiB，这是一次导入最多读取的量；请把商品目录拆成更小的文件",
        ),
    ],
)
def test_the_audited_reasons_read_in_chinese(english: str, chinese: str) -> None:
    with translation.override("zh-hans"):
        assert translate_reason(english) == chinese


def test_stored_reasons_are_translated_when_shown_and_stay_english_for_the_api(
    client: Client, admin_user: User
) -> None:
    reason = (
        "the row has 2 values but the header has 3 columns (check the quoting and the separators)"
    )
    batch = ImportBatchFactory(
        status="failed", rows_rejected=1, errors=[{"line": 2, "reason": reason}]
    )
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hans"

    page = client.get(reverse("annotation:import_batch", args=[batch.pk])).content.decode()
    api = client.get(f"/api/v1/imports/{batch.pk}/", HTTP_ACCEPT="application/json")

    assert "该行有 2 个值，但表头有 3 列" in page
    assert "the row has 2 values" not in page
    assert api.status_code == 200
    assert json.loads(api.content)["errors"] == [{"line": 2, "reason": reason}]
