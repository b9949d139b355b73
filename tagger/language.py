"""The interface language follows the person, not only the browser.

Django's LocaleMiddleware picks the language from the browser's cookie (set by
the switcher through /i18n/setlang/) or its Accept-Language. For a signed-in
person this middleware then applies the language they chose last, remembered
in annotation's UserPreference: on the first request of each session (right
after logging in, on any device) it is read once and kept in the session,
activated for the request, and written to the browser's cookie. A choice made
with the switcher while signed in is remembered for next time."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from annotation.services import preferences

SESSION_KEY = "tagger_language"


class UserLanguageMiddleware:
    """Place after AuthenticationMiddleware (and LocaleMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        preferred = self._preferred(request) if signed_in else ""
        if preferred and preferred != translation.get_language():
            translation.activate(preferred)
            request.LANGUAGE_CODE = preferred
        response = self.get_response(request)
        if not signed_in:
            return response
        match = getattr(request, "resolver_match", None)
        if request.method == "POST" and getattr(match, "url_name", None) == "set_language":
            self._remember(request, response)
        elif preferred and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != preferred:
            _set_cookie(response, preferred)
        return response

    @staticmethod
    def _preferred(request: HttpRequest) -> str:
        session = request.session
        if SESSION_KEY not in session:
            assert request.user.is_authenticated, "only called for signed-in people"
            session[SESSION_KEY] = preferences.language_of(request.user)
        return str(session[SESSION_KEY] or "")

    @staticmethod
    def _remember(request: HttpRequest, response: HttpResponse) -> None:
        chosen = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen is None or not preferences.supported(chosen.value):
            return
        assert request.user.is_authenticated, "only called for signed-in people"
        preferences.remember_language(request.user, chosen.value)
        request.session[SESSION_KEY] = chosen.value


def _set_cookie(response: HttpResponse, language: str) -> None:
    """The language cookie as Django's set_language view writes it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
