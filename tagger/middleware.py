import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_noop

from annotation.inputs import has_control_characters

logger = logging.getLogger(__name__)

# Everything the app needs is served from our own origin: htmx ships with
# django-htmx and every script lives in static/. Inline scripts are refused.
_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https: http:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Swagger UI and the Django admin carry their own inline code.
        if not request.path.startswith(("/api/docs", "/admin/")):
            response.headers.setdefault("Content-Security-Policy", _CSP)
        return response


_DATABASE_DOWN = gettext_noop(
    "The database could not be reached, so this request did not complete. "
    "Reload the page to see what was saved, then try again."
)


class DatabaseUnavailableMiddleware:
    """A lost or refused database connection (a restart, a failover) answers 503
    with a plain message instead of a 500 page. Plain text because rendering a
    template would need the database again; the review page shows it as is. The
    request's open transaction was rolled back; the next request reconnects
    (CONN_HEALTH_CHECKS)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable during %s %s: %s", request.method, request.path, exception
        )
        message = gettext(_DATABASE_DOWN)
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response


_CONTROL_IN_URL = gettext_noop(
    "The address holds a control character (such as NUL); remove it and try again."
)


class ControlCharacterMiddleware:
    """A path or query parameter with a control character (NUL, ESC, DEL, …)
    answers 400 before any view runs: no product id, search or filter holds
    one, and PostgreSQL refuses NUL in text outright. Tabs and line breaks stay
    allowed in query values (pasted text). API routes get a JSON body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._hostile(request):
            message = gettext(_CONTROL_IN_URL)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _hostile(request: HttpRequest) -> bool:
        if has_control_characters(request.path, allow_breaks=False):
            return True
        return any(
            has_control_characters(key, allow_breaks=False)
            or any(has_control_characters(value) for value in values)
            for key, values in request.GET.lists()
        )
