"""GET /healthz: the liveness and readiness probe of a web process.

Answered before every other middleware, so it needs no allowed host (a probe
on 127.0.0.1 inside a container works whatever ALLOWED_HOSTS says), no https
redirect and no session: 200 {"status": "ok"} when this process can run a query
on the database, 503 {"status": "unavailable"} otherwise. It tells nothing
else about the deployment."""

import logging
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("health check: the database does not answer", exc_info=True)
        return False
    return True


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != HEALTH_PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        healthy = database_ok()
        response = JsonResponse(
            {"status": "ok" if healthy else "unavailable"}, status=200 if healthy else 503
        )
        response["Cache-Control"] = "no-store"
        return response
