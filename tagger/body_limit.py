"""Refuse a request body larger than any upload before anything reads it.

Django's CSRF check reads a form's fields, and with them parses a multipart
upload to a temporary file, before any view runs: without this, any signed-in
user could make the server write gigabytes to disk by posting them anywhere.
Nothing accepts more than TAGGER_MAX_UPLOAD_BYTES (plus the multipart framing),
so a larger declared body answers 413 unread. Django never reads more than the
declared Content-Length, so the declaration is the bound.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

# Multipart framing and form fields around the file itself.
ENVELOPE_BYTES = 64 * 1024


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.TAGGER_MAX_UPLOAD_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads no body it cannot measure
        if declared <= limit + ENVELOPE_BYTES:
            return self.get_response(request)
        message = gettext("The request is larger than %(limit)s, the most this site accepts.") % {
            "limit": filesizeformat(limit)
        }
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
