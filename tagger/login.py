"""Login with throttling: repeated failures for one username or one address lock
further attempts out for a while, counted in the shared cache."""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MAX_FAILURES = getattr(settings, "TAGGER_LOGIN_MAX_FAILURES", 5)
LOCKOUT_SECONDS = getattr(settings, "TAGGER_LOGIN_LOCKOUT_SECONDS", 300)


def _keys(request: HttpRequest, username: str) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()[:32]
    # Per address catches spraying many usernames; per user catches a distributed guess.
    return [f"login-fail:user:{digest}", f"login-fail:addr:{address}"]


def _failures(keys: list[str]) -> int:
    return max((cache.get(key, 0) for key in keys), default=0)


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        keys = _keys(request, request.POST.get("username", ""))
        if _failures(keys) >= MAX_FAILURES:
            logger.warning("login throttled for address %s", request.META.get("REMOTE_ADDR"))
            form = self.get_form()
            form.errors.clear()
            context = self.get_context_data(
                form=form,
                throttled=_("Too many failed attempts. Try again in a few minutes."),
            )
            return self.render_to_response(context, status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            cache.delete_many(keys)
        else:
            for key in keys:
                cache.add(key, 0, LOCKOUT_SECONDS)
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, LOCKOUT_SECONDS)
        return response
