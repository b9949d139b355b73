"""Upsert by external id, tag resolution, and who wins over imported tags."""

import gzip
import io
import json

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from annotation.models import ImportBatch, Product, ProductTag, ReviewEvent, Tag, TagGroup
from annotation.services.importing import ImportProgress, ImportResult, import_products
from tests.factories import ProductTagFactory, TagFactory, TagGroupFactory

pytestmark = pytest.mark.django_db
State = ProductTag.State
Source = ProductTag.Source


def jsonl(*rows: object) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def run(data: bytes, name: str = "products.jsonl", **kwargs: object) -> ImportResult:
    return import_products(io.BytesIO(data), filename=name, **kwargs)  # type: ignore[arg-type]


SHIRT = {"id": "p1", "title": "Blue shirt", "tags": ["color:Blue", "material:Cotton"]}
MUG = {"id": "p2", "title": "Mug", "brand": "Acme", "tags": ["color:White"]}


def tag_keys(external_id: str, state: str = State.APPROVED) -> set[str]:
    return {
        pt.tag.key
        for pt in ProductTag.objects.filter(
            product__external_id=external_id, state=state
        ).select_related("tag__group")
    }


def test_it_creates_products_tags_and_one_import_event_per_tag() -> None:
    result = run(jsonl(SHIRT, MUG))

    assert (result.created, result.updated, result.unchanged, result.rejected) == (2, 0, 0, 0)
    assert set(TagGroup.objects.values_list("name", flat=True)) == {"color", "material"}
    assert tag_keys("p1") == {"color:Blue", "material:Cotton"}
    pt = ProductTag.objects.filter(product__external_id="p1").first()
    assert (pt.source, pt.state) == (Source.IMPORT, State.APPROVED)
    events = ReviewEvent.objects.filter(action=ReviewEvent.Action.IMPORT)
    assert events.count() == 3
    assert set(events.values_list("new_state", flat=True)) == {State.APPROVED}
    product = Product.objects.get(external_id="p1")
    assert product.import_batch == result.batch
    assert product.language == "en"
    assert product.normalized_text == "Blue shirt"


def test_reimporting_the_same_file_writes_nothing() -> None:
    data = jsonl(SHIRT, MUG)
    run(data)
    stamps = dict(Product.objects.values_list("external_id", "updated_at"))

    result = run(data)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert dict(Product.objects.values_list("external_id", "updated_at")) == stamps
    assert ReviewEvent.objects.count() == 3
    assert ImportBatch.objects.filter(status=ImportBatch.Status.SUCCEEDED).count() == 2


def test_a_changed_product_is_updated_and_the_others_are_left_alone() -> None:
    run(jsonl(SHIRT, MUG))

    result = run(jsonl({**SHIRT, "title": "Navy shirt"}, MUG))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    product = Product.objects.get(external_id="p1")
    assert product.title == "Navy shirt"
    assert product.normalized_text == "Navy shirt"
    assert product.import_batch == result.batch


def test_a_human_decision_is_not_overwritten_by_an_import(make_user: object) -> None:
    reviewer: User = make_user("rita")  # type: ignore[operator]
    run(jsonl(SHIRT))
    blue = ProductTag.objects.get(product__external_id="p1", tag__name="Blue")
    blue.state, blue.source, blue.decided_by = State.REJECTED, Source.HUMAN, reviewer
    blue.save(update_fields=["state", "source", "decided_by"])

    result = run(jsonl({**SHIRT, "title": "Blue shirt, slim"}))

    assert result.updated == 1
    blue.refresh_from_db()
    assert (blue.state, blue.source, blue.decided_by) == (State.REJECTED, Source.HUMAN, reviewer)


def test_an_imported_tag_replaces_an_automatic_decision() -> None:
    run(jsonl({"id": "p1", "title": "Blue shirt", "tags": []}))
    blue = TagFactory(group=TagGroupFactory(name="color"), name="Blue")
    product = Product.objects.get(external_id="p1")
    ProductTagFactory(
        product=product,
        tag=blue,
        state=State.REJECTED,
        source=Source.AUTO,
        decided_at=timezone.now(),
    )

    run(jsonl({"id": "p1", "title": "Blue shirt", "tags": ["color:Blue"]}))

    pt = ProductTag.objects.get(product=product, tag=blue)
    assert (pt.state, pt.source) == (State.APPROVED, Source.IMPORT)
    event = ReviewEvent.objects.get(product=product, tag=blue)
    assert (event.action, event.previous_state, event.new_state) == (
        "import",
        "rejected",
        "approved",
    )


def test_an_imported_tag_dropped_from_the_file_is_withdrawn() -> None:
    run(jsonl(SHIRT))

    run(jsonl({**SHIRT, "tags": ["color:Blue"]}))

    assert tag_keys("p1") == {"color:Blue"}
    assert tag_keys("p1", State.REJECTED) == {"material:Cotton"}
    event = ReviewEvent.objects.get(action=ReviewEvent.Action.REMOVE)
    assert (event.previous_state, event.new_state) == ("approved", "rejected")


def test_a_file_without_tags_leaves_the_tags_alone() -> None:
    run(jsonl(SHIRT))

    result = run(jsonl({"id": "p1", "title": "Blue shirt, new title"}))

    assert result.updated == 1
    assert tag_keys("p1") == {"color:Blue", "material:Cotton"}


def test_tags_resolve_by_name_and_alias_case_insensitively_and_follow_merges() -> None:
    color = TagGroupFactory(name="Color")
    navy = TagFactory(group=color, name="Navy", aliases=["dark blue"])
    TagFactory(group=color, name="Midnight", status=Tag.Status.DEPRECATED, merged_into=navy)

    run(jsonl({"id": "p1", "title": "Shirt", "tags": ["COLOR:navy", "color:Dark Blue"]}))
    run(jsonl({"id": "p2", "title": "Scarf", "tags": ["color:midnight"]}))

    assert TagGroup.objects.count() == 1
    assert Tag.objects.count() == 2
    assert tag_keys("p1") == {"Color:Navy"}
    assert tag_keys("p2") == {"Color:Navy"}


def test_csv_with_a_mapping_tags_and_a_category_path() -> None:
    data = (
        b"sku;name;category;tags;Material\n"
        b"A1;Linen dress;Women > Dresses;color:Red|fit:Loose;linen\n"
    )

    result = run(data, "export.csv", mapping={"sku": "id", "name": "title"})

    assert result.created == 1, result.errors
    product = Product.objects.get(external_id="A1")
    assert product.title == "Linen dress"
    assert product.category_path == "Women > Dresses"
    assert product.attributes == {"Material": "linen"}
    assert tag_keys("A1") == {"color:Red", "fit:Loose"}


def test_json_with_a_products_key_and_gzip_detected_by_content() -> None:
    document = {"products": [{"id": 7, "title": "Lamp", "category": ["Home", "Lighting"]}]}
    data = gzip.compress(json.dumps(document).encode())

    result = run(data, "upload.bin")

    assert result.created == 1, result.errors
    product = Product.objects.get(external_id="7")
    assert product.category_path == "Home > Lighting"


def test_language_is_detected_when_absent_and_kept_when_given() -> None:
    rows = jsonl(
        {"id": "zh1", "title": "纯棉短袖T恤 男款"},
        {"id": "en1", "title": "Cotton tee", "lang": "EN"},
    )

    run(rows)

    assert Product.objects.get(external_id="zh1").language == "zh"
    assert Product.objects.get(external_id="en1").language == "en"


def test_it_reports_progress_in_rows_read() -> None:
    seen: list[ImportProgress] = []
    data = jsonl(SHIRT, MUG)

    run(data, progress=seen.append)

    reading = [report for report in seen if report.stage == "reading"]
    assert sum(report.new_rows for report in reading) == 2
    assert reading[-1].rows == 2
    assert reading[-1].bytes_read == len(data)
    assert seen[-1].stage == "saving"


def test_the_batch_records_the_importer_and_counts(make_user: object) -> None:
    admin: User = make_user("ada")  # type: ignore[operator]

    result = run(jsonl(SHIRT, MUG), user=admin)

    batch = ImportBatch.objects.get(pk=result.batch.pk)
    assert (batch.created_by, batch.rows_total, batch.rows_created) == (admin, 2, 2)
    assert batch.source == "products.jsonl"
    pt = ProductTag.objects.filter(product__external_id="p1").first()
    assert pt.decided_by == admin
