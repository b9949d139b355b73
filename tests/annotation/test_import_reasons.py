"""Import problems are shown in the reader's language: the importer writes
them in English, the import pages translate each one it knows."""

import io
import json
import re

import pytest
from django.utils import translation

from annotation.services.importing import import_products
from annotation.templatetags.import_reasons import translate_reason
from tests.annotation.ui_catalog import compile_messages
from tests.factories import TagFactory, TagGroupFactory

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _chinese() -> object:
    compile_messages()
    with translation.override("zh-hans"):
        yield


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("id is empty", "id 为空"),
        ("missing required field: title", "缺少必填字段：title"),
        (
            "language 'klingon' is not a language code such as en or zh",
            "language 'klingon' 不是 en、zh 这样的语言代码",
        ),
        ("title must be text, found a list", "title 必须是文本，实际是列表"),
        (
            "tag 'Navy' is not in facet:value form (for example color:Navy Blue)",
            "标签 'Navy' 不是“维度:值”形式（例如 color:Navy Blue）",
        ),
        ("the file is 12 MiB; the limit is 10 MiB", "文件大小为 12 MiB；上限是 10 MiB"),
    ],
)
def test_known_reasons_are_translated_with_their_details(english: str, chinese: str) -> None:
    assert translate_reason(english) == chinese


def test_an_unknown_reason_is_shown_as_written() -> None:
    assert translate_reason("something new went wrong") == "something new went wrong"


@pytest.mark.django_db
def test_every_problem_of_a_bad_file_reads_in_chinese() -> None:
    TagFactory(group=TagGroupFactory(name="color"), name="Old", status="deprecated")
    rows = [
        {"id": "", "title": "No id"},
        {"id": "a", "title": ""},
        {"id": "b"},
        {"id": "c", "title": "Shirt", "language": "klingon"},
        {"id": "d", "title": "Shirt", "tags": ["Navy"]},
        {"id": "e", "title": "Shirt", "tags": ["color:Old"]},
        {"id": "f", "title": ["a", "list"]},
        {"id": "g", "title": "Shirt", "image_url": "ftp://example.com/x.png"},
        {"id": "h", "title": "Shirt", "attributes": [1, 2]},
    ]
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()

    result = import_products(io.BytesIO(data), filename="bad.jsonl")

    reasons = [
        error["reason"] if isinstance(error, dict) else error.reason for error in result.errors
    ]
    assert len(reasons) == len(rows)
    untranslated = [r for r in reasons if not CJK.search(translate_reason(r))]
    assert untranslated == []
