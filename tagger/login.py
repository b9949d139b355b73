"""Login with throttling, counted in the shared cache (Redis in production).

Two counters guard every password check, wherever it happens (the login page,
the Django admin's login, anything that calls ``authenticate``):

- per account (the user name, case-folded): ``TAGGER_LOGIN_MAX_FAILURES``
  failures lock that account for ``TAGGER_LOGIN_LOCKOUT_SECONDS``, and only it;
- per client address (the real client behind ``TAGGER_TRUSTED_PROXIES``
  proxies; IPv6 by /64): ``TAGGER_LOGIN_ADDRESS_MAX_FAILURES``, a much higher
  limit, stops one client spraying many accounts without locking everyone out
  who shares an address.

A password check takes a slot first (``cache.add`` then an atomic ``incr``) and
is refused without checking the password when the slot is over the limit, so
parallel attempts can never push more checks through than the limit. A
successful login clears the account's failures and gives the address slot back.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, user_logged_in
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

ACCOUNT_LOCKED = _("Too many failed attempts. Try again in a few minutes.")
ADDRESS_LOCKED = _("Too many failed attempts from your network. Try again later.")
# Set on the request by the backend: the refusal, or the slots it took.
_REFUSAL_ATTR = "_tagger_login_refusal"
_SLOTS_ATTR = "_tagger_login_slots"


def client_address(request: HttpRequest) -> str:
    """The address of the client that made the request.

    Behind ``TAGGER_TRUSTED_PROXIES`` = n proxies, each appending the address it
    saw to X-Forwarded-For, the client is the n-th entry from the right: what a
    client writes into the header itself stands further left and is ignored.
    A header shorter than that, or an entry that is no address, means the
    request did not come through the proxies: the peer address is used."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TAGGER_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [e for e in entries if e]
    if len(entries) < proxies:
        return remote
    candidate = entries[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _address_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"login-fail:addr:{address[:64]}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        # One subscriber usually holds a whole /64: count it as one client.
        return f"login-fail:addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"login-fail:addr:{ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip}"


def _account_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode("utf-8")).hexdigest()[:32]
    return f"login-fail:user:{digest}"


def _take(key: str, limit: int) -> bool:
    """Take one slot of `key`'s window atomically; False when over `limit`."""
    timeout = settings.TAGGER_LOGIN_LOCKOUT_SECONDS
    for _attempt in range(3):
        cache.add(key, 0, timeout)
        try:
            return cache.incr(key) <= limit
        except ValueError:
            continue  # the window ran out between add and incr: open a new one
    return False


def _give_back(key: str) -> None:
    # A window that ran out meanwhile has nothing left to give back.
    with contextlib.suppress(ValueError):
        cache.decr(key)


@dataclass(frozen=True)
class _Slots:
    account: str
    address: str | None


def _reserve(request: HttpRequest | None, username: str) -> _Slots:
    """Take a slot per counter, or raise PermissionDenied with the reason."""
    account = _account_key(username)
    address = _address_key(client_address(request)) if request is not None else None
    if address is not None and not _take(address, settings.TAGGER_LOGIN_ADDRESS_MAX_FAILURES):
        _refuse(request, ADDRESS_LOCKED, "address")
    if not _take(account, settings.TAGGER_LOGIN_MAX_FAILURES):
        if address is not None:
            _give_back(address)  # refused unchecked: no failure for the address
        _refuse(request, ACCOUNT_LOCKED, "account")
    return _Slots(account=account, address=address)


def _refuse(request: HttpRequest | None, message: Any, kind: str) -> NoReturn:
    if request is not None:
        setattr(request, _REFUSAL_ATTR, message)
        logger.warning(
            "login throttled (%s) for client %s", kind, client_address(request) or "unknown"
        )
    raise PermissionDenied(str(message))


class LoginThrottleBackend(BaseBackend):
    """First in AUTHENTICATION_BACKENDS: counts every password check and stops
    `authenticate` (PermissionDenied) before any backend checks a password once
    the account or the client is over its limit. Authenticates no one itself."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return
        slots = _reserve(request, str(username))
        if request is not None:
            setattr(request, _SLOTS_ATTR, slots)

    def get_user(self, user_id: Any) -> Any:
        # A session whose login named this backend (Client.force_login takes the
        # first backend) finds its user the way ModelBackend does.
        return ModelBackend().get_user(user_id)


def _logged_in(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """A login that passed the password check: its account starts afresh, and
    its address slot is given back (successes never lock an address out)."""
    slots: _Slots | None = getattr(request, _SLOTS_ATTR, None)
    if slots is None:
        return
    cache.delete(slots.account)
    if slots.address is not None:
        _give_back(slots.address)
    delattr(request, _SLOTS_ATTR)


user_logged_in.connect(_logged_in, dispatch_uid="tagger-login-throttle")


def throttle_refusal(request: HttpRequest) -> Any:
    """The message of the throttle that refused this request's login, or None."""
    return getattr(request, _REFUSAL_ATTR, None)


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        refusal = throttle_refusal(request)
        if refusal is None:
            return response
        form = self.get_form()
        form.errors.clear()
        throttled = self.render_to_response(
            self.get_context_data(form=form, throttled=refusal), status=429
        )
        throttled["Retry-After"] = str(settings.TAGGER_LOGIN_LOCKOUT_SECONDS)
        return throttled


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The Django admin's login form, telling a throttled login why."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            refusal = throttle_refusal(self.request) if self.request is not None else None
            if refusal is not None:
                raise ValidationError(refusal, code="throttled") from None
            raise
