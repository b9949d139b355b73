"""On PostgreSQL the database writes the JSONL lines itself: they must carry
exactly the records the Python path builds (same keys in the same order, same
values and JSON types, tags in the same order), for every filter and cursor."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.contrib.auth.models import User
from django.db import connection

from annotation.models import Product, ProductTag, Tag
from annotation.services import export
from annotation.services.export import lines, records
from annotation.services.review import Decision, submit_review
from annotation.services.tag_changes import record_tag_changes
from tests.api.conftest import World
from tests.factories import ProductFactory, ProductTagFactory, TagFactory, TagGroupFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the database writes JSONL on PostgreSQL only"
    ),
]
WHEN = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
ODD_NAMES = ['quote "q"', "back\\slash", "中文", "emoji 🎉", "tab\tnew\nline", "Zed", "apple"]


def _decide(
    product: Product, tag: Tag, state: str = ProductTag.State.APPROVED, **fields: object
) -> ProductTag:
    defaults = {"source": ProductTag.Source.IMPORT, "decided_at": WHEN}
    return ProductTagFactory(product=product, tag=tag, state=state, **defaults | fields)


@pytest.fixture
def catalogue(world: World, make_user: Callable[..., User]) -> list[Product]:
    """Approved, rejected and removed tags over several facets, two of them at the
    same position with names that sort differently by code point (Python) and by
    dictionary order (most database collations); odd characters in every text; a
    user, a model version and a score where there are some, null where not."""
    rita = make_user("rita")
    odd_user = make_user('o\'neil "用户" \\ 🎉')
    odd = TagGroupFactory(name='材质 "q"', position=2)
    zeta = TagGroupFactory(name="Zeta", position=5)
    alpha = TagGroupFactory(name="alpha", position=5)
    odd_tags = [TagFactory(group=odd, name=name) for name in ODD_NAMES]
    z_tag = TagFactory(group=zeta, name="z")
    a_tag = TagFactory(group=alpha, name="a")
    sku1, sku2, sku3 = world.products
    # A reviewer removes an imported tag, rejects a suggestion, approves another.
    submit_review(
        rita,
        sku1,
        [
            Decision(world.red.pk, False),
            Decision(world.blue.pk, False),
            Decision(world.small.pk, True),
        ],
    )
    lamp = ProductFactory(
        external_id='a/b "lamp" \\ 🎉', title='Lamp "Ω" \\ 中文\n🎉', category_path="Home > Lamps"
    )
    desk = ProductFactory(
        external_id="sku 1", title="Desk lamp", category_path="home > lamps > desk"
    )
    bulk = ProductFactory(external_id="bulk", title="Bulk")
    chinese = ProductFactory(external_id="中文-1", title="中文产品", category_path="家居 > 灯")
    untouched = ProductFactory(
        external_id="never-changed", title="Never changed", category_path="Home > Lamps"
    )
    for index, tag in enumerate(odd_tags):
        _decide(
            lamp,
            tag,
            ProductTag.State.APPROVED if index % 3 else ProductTag.State.REJECTED,
            source=ProductTag.Source.HUMAN,
            decided_by=odd_user if index % 2 else rita,
            decided_at=WHEN + timedelta(microseconds=index * 123457),
            model_version=world.version if index % 2 else None,
            score=[0.75, 0.1 + 0.2, 1.0, 0.0, 1e-07, None, 0.5][index],
        )
    _decide(lamp, z_tag, score=1e-300)
    _decide(lamp, a_tag)
    _decide(desk, a_tag, ProductTag.State.REJECTED, decided_by=rita)
    _decide(desk, world.large, decided_at=WHEN - timedelta(days=400))
    _decide(
        chinese, odd_tags[2], source=ProductTag.Source.AUTO, score=0.9, model_version=world.version
    )
    _decide(untouched, odd_tags[0])
    # Products changed in one instant (the cursor breaks the tie by id), and later.
    record_tag_changes([sku1.pk, sku2.pk, sku3.pk, lamp.pk, desk.pk, bulk.pk])
    Product.objects.filter(pk=chinese.pk).update(tags_updated_at=WHEN + timedelta(days=1))
    Product.objects.filter(pk=desk.pk).update(tags_updated_at=WHEN + timedelta(days=2))
    return [sku1, sku2, sku3, lamp, desk, bulk, chinese]


def _sql_records(flt: export.ExportFilter, after: export.Cursor | None = None) -> list[dict]:
    lines_bytes = b"".join(export.stream_jsonl(flt, after))
    assert lines_bytes == b"" or lines_bytes.endswith(b"\n")
    return [json.loads(line) for line in lines_bytes.decode().split("\n")[:-1]]


def _assert_same(sql: list[dict], python: list[dict]) -> None:
    assert sql == python
    # Also the same key order and JSON types (1.0 is not 1 to every reader).
    assert orjson.dumps(sql) == orjson.dumps(python)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of two products, so every walk crosses chunk boundaries."""
    monkeypatch.setattr(lines, "CHUNK", 2)
    monkeypatch.setattr(records, "CHUNK", 2)


FILTERS = {
    "everything": {},
    "updated_since": {"updated_since": WHEN + timedelta(hours=12)},
    "odd tag": {"tag": '材质 "q":中文'},
    "plain tag": {"tag": "alpha:a"},
    "facet": {"facet": '材质 "q"'},
    "product ids": {"product_ids": ('a/b "lamp" \\ 🎉', "中文-1", "bulk", "sku-2", "missing")},
    "category, any case": {"category": "HOME > lamps"},
    "chinese category": {"category": "家居"},
    "combined": {"category": "home", "facet": "alpha"},
    "nothing": {"tag": "color:none"},
}


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("params", FILTERS.values(), ids=FILTERS.keys())
def test_the_database_writes_the_records_python_builds(
    catalogue: list[Product], params: dict
) -> None:
    flt = export.ExportFilter(**params)

    sql = _sql_records(flt)

    _assert_same(sql, list(export.iter_records(flt)))


def test_every_kind_of_tag_and_value_is_exported(catalogue: list[Product]) -> None:
    records_by_id = {r["id"]: r for r in _sql_records(export.ExportFilter())}

    lamp = records_by_id['a/b "lamp" \\ 🎉']
    assert lamp["title"] == 'Lamp "Ω" \\ 中文\n🎉'
    # Code-point order within a position: "Z" before "a", ASCII before Chinese.
    assert [t["value"] for t in lamp["tags"]] == [
        "Zed",
        "back\\slash",
        "tab\tnew\nline",
        "中文",
        "z",
        "a",
    ]
    assert [t["facet"] for t in lamp["tags"]][-2:] == ["Zeta", "alpha"]
    assert [t["value"] for t in lamp["removed"]] == ["apple", "emoji 🎉", 'quote "q"']
    assert [t["decided_by"] for t in lamp["tags"]] == [
        'o\'neil "用户" \\ 🎉',
        'o\'neil "用户" \\ 🎉',
        "rita",
        "rita",
        None,
        None,
    ]
    assert [t["score"] for t in lamp["tags"]] == [None, 0.1 + 0.2, 1e-07, 1.0, 1e-300, None]
    assert isinstance(lamp["tags"][3]["score"], float)
    assert lamp["tags"][1]["decided_at"] == "2026-01-31T12:00:00.123457+00:00"
    assert "never-changed" not in records_by_id
    assert records_by_id["sku-1"]["tags"][0]["model_version"] is not None
    assert [t["tag"] for t in records_by_id["sku-1"]["removed"]] == ["color:blue", "color:red"]


@pytest.mark.usefixtures("small_chunks")
def test_the_database_resumes_after_every_cursor(catalogue: list[Product]) -> None:
    flt = export.ExportFilter()
    pks = dict(Product.objects.values_list("external_id", "pk"))
    walk = list(export.iter_records(flt))

    for record in walk:
        after = export.Cursor(datetime.fromisoformat(record["changed_at"]), pks[record["id"]])

        _assert_same(_sql_records(flt, after), list(export.iter_records(flt, after)))
