"""Who may open which page: every page needs a login; the dashboard and
reviewing need the merchandiser (or admin) role, so API clients get a 403
everywhere but their API access page; taxonomy and training actions need
admin."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from annotation.roles import can_review, is_admin, uses_pages

View = Callable[..., HttpResponse]


class SignedInRequest(HttpRequest):
    """For type checking only, never instantiated: the request a view behind
    reviewer_required or admin_required receives. The login check ran, so
    AuthenticationMiddleware's request.user is a User; HtmxMiddleware set htmx."""

    user: User
    htmx: HtmxDetails


def _requires(check: Callable[..., bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        # login_required runs first: anonymous visitors go to the login page,
        # signed-in users without the role get a 403.
        return login_required(wrapped)

    return decorator


reviewer_required = _requires(can_review)
admin_required = _requires(is_admin)
# The pages every working role sees (the dashboard): not API clients.
page_user_required = _requires(uses_pages)
