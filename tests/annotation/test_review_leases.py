"""Leases are the law: a review submit for a product leased to someone else, or
one that has had its reviews while the submitter held no lease, is refused
(LeaseConflict; 409 on the API and the review page) and writes nothing; an admin
may override, on the record; reviews_done never exceeds reviews_needed; and an
empty submit needs an explicit "no tags apply"."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from annotation import roles
from annotation.errors import LeaseConflict, ReviewError
from annotation.models import Product, ProductTag, QueueEntry, ReviewEvent, Tag
from annotation.services import queue
from annotation.services.review import Decision, submit_review, undo_last_submission
from tests.factories import ProductFactory, TagFactory, TagGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def red() -> Tag:
    return TagFactory(group=TagGroupFactory(name="color"), name="red")


@pytest.fixture
def product() -> Product:
    return ProductFactory(external_id="sku-1", title="Red shirt", queued=True)


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice", role=roles.MERCHANDISER)


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob", role=roles.MERCHANDISER)


@pytest.fixture
def boss() -> User:
    return UserFactory(username="boss", role=roles.ADMIN)


def entry_of(product: Product) -> QueueEntry:
    return QueueEntry.objects.get(product=product)


def claim(user: User, product: Product) -> None:
    entry = queue.claim_next(user)
    assert entry is not None
    assert entry.product_id == product.pk


def nothing_written(product: Product) -> bool:
    product.refresh_from_db()
    return (
        not ReviewEvent.objects.filter(product=product).exists()
        and not ProductTag.objects.filter(product=product).exists()
        and product.reviewed_at is None
    )


# -- the service ----------------------------------------------------------------------------


def test_a_submit_for_a_product_leased_to_someone_else_is_refused(
    product: Product, red: Tag, alice: User, bob: User
) -> None:
    claim(alice, product)

    with pytest.raises(LeaseConflict) as refused:
        submit_review(bob, product, [Decision(red.pk, True)])

    assert refused.value.holder == "alice"
    assert nothing_written(product)
    entry = entry_of(product)
    assert entry.leased_by == alice
    assert entry.reviews_done == 0
    assert entry.completed_at is None


def test_the_holder_of_the_lease_submits(product: Product, red: Tag, alice: User) -> None:
    claim(alice, product)

    submit_review(alice, product, [Decision(red.pk, True)])

    entry = entry_of(product)
    assert entry.reviews_done == 1
    assert entry.completed_at is not None
    assert entry.leased_by is None


def test_a_submit_without_a_lease_is_accepted_while_nobody_holds_the_product(
    product: Product, red: Tag, bob: User
) -> None:
    submit_review(bob, product, [Decision(red.pk, True)])

    entry = entry_of(product)
    assert entry.reviews_done == 1
    assert entry.completed_at is not None
    assert ReviewEvent.objects.get(product=product).note == ""


def test_a_product_never_queued_can_be_reviewed_once(red: Tag, bob: User, alice: User) -> None:
    product = ProductFactory()

    submit_review(bob, product, [Decision(red.pk, True)])

    assert entry_of(product).reviews_done == 1
    with pytest.raises(LeaseConflict):
        submit_review(alice, product, [Decision(red.pk, False)])


def test_an_expired_lease_nobody_took_still_lets_its_holder_submit(
    product: Product, red: Tag, alice: User
) -> None:
    claim(alice, product)
    QueueEntry.objects.filter(product=product).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    submit_review(alice, product, [Decision(red.pk, True)])

    assert entry_of(product).completed_at is not None


def test_a_lease_that_ran_out_and_went_to_someone_else_is_lost(
    product: Product, red: Tag, alice: User, bob: User
) -> None:
    claim(alice, product)
    QueueEntry.objects.filter(product=product).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    claim(bob, product)

    with pytest.raises(LeaseConflict) as refused:
        submit_review(alice, product, [Decision(red.pk, True)])

    assert refused.value.holder == "bob"
    assert nothing_written(product)


def test_a_product_done_already_is_refused_to_a_reviewer_without_a_lease(
    product: Product, red: Tag, alice: User, bob: User
) -> None:
    claim(alice, product)
    submit_review(alice, product, [Decision(red.pk, True)])

    with pytest.raises(LeaseConflict) as refused:
        submit_review(bob, product, [Decision(red.pk, False)])

    assert refused.value.holder is None
    assert ProductTag.objects.get(product=product).state == "approved"
    assert list(ReviewEvent.objects.filter(product=product).values_list("user", flat=True)) == [
        alice.pk
    ]
    assert entry_of(product).reviews_done == 1


def test_an_admin_overrides_a_lease_on_the_record(
    product: Product, red: Tag, alice: User, boss: User
) -> None:
    claim(alice, product)

    submit_review(boss, product, [Decision(red.pk, True)], note="fixing it")

    event = ReviewEvent.objects.get(product=product)
    assert event.user == boss
    assert event.note == "admin override of alice's lease; fixing it"
    entry = entry_of(product)
    assert entry.leased_by is None
    assert entry.reviews_done == 1
    # alice's lease is gone with the review: her late submit is refused
    with pytest.raises(LeaseConflict):
        submit_review(alice, product, [Decision(red.pk, False)])
    assert ProductTag.objects.get(product=product).state == "approved"


def test_an_admin_review_of_a_done_product_is_recorded_but_not_counted(
    product: Product, red: Tag, alice: User, boss: User
) -> None:
    submit_review(alice, product, [Decision(red.pk, True)])

    submit_review(boss, product, [Decision(red.pk, False)])

    assert ProductTag.objects.get(product=product).state == "rejected"
    event = ReviewEvent.objects.filter(product=product, user=boss).get()
    assert event.note == "admin review of a product already done"
    entry = entry_of(product)
    assert entry.reviews_done == entry.reviews_needed == 1


def test_reviews_done_never_exceeds_reviews_needed(
    product: Product, red: Tag, alice: User, bob: User, boss: User
) -> None:
    QueueEntry.objects.filter(product=product).update(reviews_needed=2)

    submit_review(alice, product, [Decision(red.pk, True)])
    submit_review(alice, product, [Decision(red.pk, True)])  # the same person again
    assert entry_of(product).reviews_done == 1
    submit_review(bob, product, [Decision(red.pk, True)])
    submit_review(boss, product, [Decision(red.pk, True)])
    queue.complete(entry_of(product), boss)  # even asked to count one more

    entry = entry_of(product)
    assert entry.reviews_done == 2
    assert entry.completed_at is not None


def test_undoing_a_review_that_did_not_count_takes_no_count_back(
    product: Product, red: Tag, alice: User, boss: User
) -> None:
    submit_review(alice, product, [Decision(red.pk, True)])
    submit_review(boss, product, [Decision(red.pk, False)])

    undo_last_submission(boss)

    entry = entry_of(product)
    assert entry.reviews_done == 1
    assert entry.completed_at is not None
    assert ProductTag.objects.get(product=product).state == "approved"


# -- "no tags apply" ----------------------------------------------------------------------------


def test_a_submit_without_any_decision_is_refused(product: Product, alice: User) -> None:
    claim(alice, product)

    with pytest.raises(ReviewError, match="nothing decided"):
        submit_review(alice, product, [])

    assert nothing_written(product)
    assert entry_of(product).leased_by == alice


def test_no_tags_apply_is_an_explicit_decision_on_record(product: Product, alice: User) -> None:
    claim(alice, product)

    submit_review(alice, product, [], none_apply=True)

    event = ReviewEvent.objects.get(product=product)
    assert (event.action, event.tag, event.note) == ("reject", None, "no tags apply")
    product.refresh_from_db()
    assert product.reviewed_at is not None
    assert entry_of(product).completed_at is not None
    # and it counts as this reviewer's review: undo gives the product back
    undo_last_submission(alice)
    product.refresh_from_db()
    assert product.reviewed_at is None
    assert entry_of(product).completed_at is None
    assert entry_of(product).leased_by == alice


def test_no_tags_apply_contradicts_an_approved_tag(product: Product, red: Tag, alice: User) -> None:
    with pytest.raises(ReviewError, match="no tags apply"):
        submit_review(alice, product, [Decision(red.pk, True)], none_apply=True)

    assert nothing_written(product)


# -- the API ---------------------------------------------------------------------------------


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_answers_409_for_a_product_leased_to_someone_else(
    product: Product, red: Tag, alice: User, bob: User
) -> None:
    assert api(alice).post("/api/v1/review/next/").status_code == 200

    response = api(bob).post(
        "/api/v1/products/sku-1/review/",
        {"decisions": [{"tag_id": red.pk, "approved": True}]},
        format="json",
    )

    assert response.status_code == 409
    assert "leased to another reviewer" in response.json()["detail"]
    assert nothing_written(product)
    assert entry_of(product).leased_by == alice


def test_the_api_answers_409_for_a_product_done_already(
    product: Product, red: Tag, alice: User, bob: User
) -> None:
    body = {"decisions": [{"tag_id": red.pk, "approved": True}]}
    assert api(alice).post("/api/v1/products/sku-1/review/", body, format="json").status_code == 200

    response = api(bob).post("/api/v1/products/sku-1/review/", body, format="json")

    assert response.status_code == 409
    assert entry_of(product).reviews_done == 1


# -- the review page ----------------------------------------------------------------------------


def page(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain-post"])
def test_the_review_page_refuses_a_product_leased_to_someone_else(
    product: Product, red: Tag, alice: User, bob: User, htmx: bool
) -> None:
    claim(alice, product)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = page(bob).post(
        "/review/submit/", {"product": product.pk, "shown": red.pk, "tag": red.pk}, **headers
    )

    assert response.status_code == 409
    assert "Not saved: Red shirt is being reviewed by someone else." in response.content.decode()
    assert nothing_written(product)
    assert entry_of(product).leased_by == alice


def test_an_empty_submit_leaves_the_product_unreviewed(product: Product, alice: User) -> None:
    client = page(alice)
    assert client.get("/review/").status_code == 200

    response = client.post("/review/submit/", {"product": product.pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Nothing decided for Red shirt" in response.content.decode()
    assert nothing_written(product)
    # the same product is shown again, still leased to the reviewer
    assert f'name="product" value="{product.pk}"' in response.content.decode()
    assert entry_of(product).leased_by == alice


def test_no_tags_apply_on_the_review_page_saves_the_decision(product: Product, alice: User) -> None:
    client = page(alice)
    form = client.get("/review/").content.decode()
    assert 'name="none_apply" value="1"' in form

    response = client.post(
        "/review/submit/", {"product": product.pk, "none_apply": "1"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "Saved Red shirt" in response.content.decode()
    assert ReviewEvent.objects.get(product=product).note == "no tags apply"


def test_no_tags_apply_with_tags_checked_is_not_saved(
    product: Product, red: Tag, alice: User
) -> None:
    client = page(alice)
    client.get("/review/")

    response = client.post(
        "/review/submit/",
        {"product": product.pk, "shown": red.pk, "tag": red.pk, "none_apply": "1"},
        HTTP_HX_REQUEST="true",
    )

    assert "uncheck the tags or submit them" in response.content.decode()
    assert nothing_written(product)


def test_unchecking_every_shown_tag_rejects_them_without_no_tags_apply(
    product: Product, red: Tag, alice: User
) -> None:
    client = page(alice)
    client.get("/review/")

    client.post("/review/submit/", {"product": product.pk, "shown": red.pk}, HTTP_HX_REQUEST="true")

    assert ProductTag.objects.get(product=product).state == "rejected"
