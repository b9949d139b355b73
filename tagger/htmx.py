"""htmx requests whose session ended, or whose page went stale, lead the whole
tab to a fresh page instead of swapping one page into another.

An htmx request is an XMLHttpRequest: it follows login_required's redirect by
itself and swaps the login page (header and all) into the panel that asked,
while the top bar still shows the old account. Here such a request is answered
with ``HX-Redirect`` instead: htmx sends the tab to the login page, with
``next`` the page the person was on (never the fragment or the POST-only
endpoint the request went to), and the login page says why. A form post whose
CSRF token went stale because the person logged in again in another tab reloads
its page the same way, with a message, instead of a 403 page.
"""

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_noop
from django.views import csrf
from django_htmx.http import HttpResponseClientRedirect

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

SESSION_ENDED = gettext_noop(
    "Your session has ended, so your last action was not saved. "
    "Log in again to carry on where you left off."
)
PAGE_WAS_STALE = gettext_noop(
    "This page was out of date (you had logged in again in another tab), so your "
    "last action was not saved. The page has been reloaded: please try again."
)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def current_page(request: HttpRequest) -> str | None:
    """The path (and query) of the page an htmx request came from, when that page
    is on this site; None otherwise. The scheme is not compared: behind a TLS
    proxy the browser's https page reaches Django as http."""
    url = request.headers.get("HX-Current-URL", "")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc != request.get_host():
        return None
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    if not url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return None
    return path


def _client_redirect(request: HttpRequest, url: str, message: str) -> HttpResponse:
    # Stored in the message storage (a cookie for an anonymous visitor), shown
    # by the page the tab lands on.
    messages.warning(request, message)
    response = HttpResponseClientRedirect(url)
    add_never_cache_headers(response)
    return response


def session_ended(request: HttpRequest) -> HttpResponse:
    """Send the tab to the login page, coming back to the page it was on."""
    page = current_page(request)
    login_url = resolve_url(settings.LOGIN_URL)
    url = redirect_to_login(page, login_url)["Location"] if page else login_url
    return _client_redirect(request, url, gettext(SESSION_ENDED))


def _is_login_redirect(response: HttpResponse) -> bool:
    if response.status_code not in _REDIRECTS:
        return False
    target = urlsplit(response.get("Location", ""))
    return target.path == resolve_url(settings.LOGIN_URL)


class HtmxLoginRedirectMiddleware:
    """login_required's redirect, for an htmx request, becomes ``HX-Redirect``
    to the login page (see the module's docstring). Every login-protected view
    is covered, whatever decorator or mixin sent the visitor away.

    Sits inside MessageMiddleware (which stores the message) and after
    AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_htmx(request) and not request.user.is_authenticated and _is_login_redirect(response):
            return session_ended(request)
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. For htmx: a signed-out visitor goes to the login page
    (as for any other request of theirs); a signed-in one whose page holds the
    token of an earlier session (they logged out and in again in another tab)
    gets the page reloaded, with a fresh token and a message. Anything else
    gets Django's own 403 page."""
    if is_htmx(request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return session_ended(request)
        page = current_page(request)
        if page is not None:
            return _client_redirect(request, page, gettext(PAGE_WAS_STALE))
    return csrf.csrf_failure(request, reason)
