"""Who may open which page: every page needs a login; reviewing needs the
merchandiser (or admin) role; taxonomy and training actions need admin."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from annotation.roles import can_review, is_admin

View = Callable[..., HttpResponse]


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
