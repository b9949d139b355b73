"""htmx requests whose session ended, or whose page holds a stale CSRF token,
send the whole tab to a fresh page (tagger/htmx.py) instead of swapping the
login page or a 403 page into the page that asked."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.annotation.ui_catalog import build_catalog, compile_messages

pytestmark = pytest.mark.django_db

PAGE = "http://testserver/review/"


def htmx(current_url: str = PAGE) -> dict[str, str]:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": current_url}


def shown_messages(response: Any) -> list[str]:
    """The messages the request queued for the next page."""
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    "endpoint", ["annotation:review_submit", "annotation:review_skip", "annotation:review_undo"]
)
def test_a_signed_out_htmx_post_sends_the_tab_to_the_login_page_and_back(
    client: Client, endpoint: str
) -> None:
    response = client.post(reverse(endpoint), {"product": 1}, **htmx())

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/review/"
    assert response.content == b""
    assert "no-store" in response["Cache-Control"]
    assert shown_messages(response) == [
        "Your session has ended, so your last action was not saved. "
        "Log in again to carry on where you left off."
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/training/",
        "/training/progress/?run=1",
        "/import/1/progress/",
        "/review/tags.json",
    ],
)
def test_every_htmx_endpoint_sends_a_signed_out_tab_to_the_login_page(
    client: Client, url: str
) -> None:
    response = client.get(url, **htmx("http://testserver/import/1/"))

    assert response.status_code == 200
    # `next` is the page the tab shows, never the fragment the request asked for.
    assert response["HX-Redirect"] == "/login/?next=/import/1/"


def test_the_login_page_shows_why_the_tab_came(client: Client) -> None:
    client.post(reverse("annotation:review_submit"), {"product": 1}, **htmx())

    page = client.get("/login/?next=/review/").content.decode()

    assert "Your session has ended" in page
    assert 'name="next" value="/review/"' in page


def test_the_message_is_in_the_language_of_the_tab(client: Client) -> None:
    compile_messages()
    client.cookies["django_language"] = "zh-hans"

    response = client.post(reverse("annotation:review_submit"), {"product": 1}, **htmx())

    assert shown_messages(response) == [
        "您的会话已结束，刚才的操作没有保存。请重新登录，从中断的地方继续。"
    ]


@pytest.mark.parametrize(
    "current",
    [
        "",  # no HX-Current-URL header
        "https://elsewhere.example.com/review/",  # another site's page
        "http://testserver//elsewhere.example.com/",  # a protocol-relative path
    ],
)
def test_without_a_page_of_this_site_to_return_to_there_is_no_next(
    client: Client, current: str
) -> None:
    response = client.post(reverse("annotation:review_submit"), {"product": 1}, **htmx(current))

    assert response["HX-Redirect"] == "/login/"


def test_the_page_s_query_string_is_kept_in_next(client: Client) -> None:
    response = client.get(
        "/dashboard/training/", **htmx("http://testserver/products/?state=unreviewed&page=2")
    )

    assert response["HX-Redirect"] == ("/login/?next=/products/%3Fstate%3Dunreviewed%26page%3D2")


def test_a_plain_request_still_gets_the_ordinary_redirect(client: Client) -> None:
    response = client.post(reverse("annotation:review_submit"), {"product": 1})

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/review/submit/"
    assert "HX-Redirect" not in response


def test_a_signed_in_htmx_request_is_answered_as_usual(client: Client, merchandiser: User) -> None:
    catalog = build_catalog(products=1)
    client.force_login(merchandiser)

    response = client.post(
        reverse("annotation:review_skip"), {"product": catalog.products[0].pk}, **htmx()
    )

    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert 'id="review-panel"' in response.content.decode()


def test_a_signed_in_user_without_the_role_still_gets_a_403(
    client: Client, api_client_user: User
) -> None:
    client.force_login(api_client_user)

    response = client.post(reverse("annotation:review_submit"), {"product": 1}, **htmx())

    assert response.status_code == 403
    assert "HX-Redirect" not in response


def test_a_stale_csrf_token_reloads_the_page_with_a_message(merchandiser: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(merchandiser)
    client.get(reverse("annotation:review"))  # sets the CSRF cookie

    # The page holds a token from before the reviewer logged in again elsewhere.
    response = client.post(
        reverse("annotation:review_submit"),
        {"product": 1},
        HTTP_X_CSRFTOKEN="x" * 32,
        **htmx(),
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/review/"
    assert shown_messages(response) == [
        "This page was out of date (you had logged in again in another tab), so your "
        "last action was not saved. The page has been reloaded: please try again."
    ]


def test_a_signed_out_htmx_post_without_a_csrf_cookie_goes_to_the_login_page() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("annotation:review_submit"), {"product": 1}, **htmx())

    assert response["HX-Redirect"] == "/login/?next=/review/"


def test_a_plain_post_with_a_bad_csrf_token_gets_django_s_403_page(merchandiser: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(merchandiser)

    response = client.post(reverse("annotation:review_submit"), {"product": 1})

    assert response.status_code == 403
    assert "HX-Redirect" not in response
    assert "CSRF" in response.content.decode()
