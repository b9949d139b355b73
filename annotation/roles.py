"""Roles are Django groups. Admins run taxonomy, imports, training and tokens;
merchandisers review; API clients only read the export (through a token: they
get no HTML page beyond the one that says what their tokens can do)."""

from django.contrib.auth.models import AnonymousUser, Group, User
from django.http import HttpRequest

MERCHANDISER = "merchandiser"
ADMIN = "admin"
API_CLIENT = "api_client"
ROLES = (MERCHANDISER, ADMIN, API_CLIENT)

# What request.user is: the project uses Django's own User model.
AnyUser = User | AnonymousUser


def has_role(user: AnyUser, role: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache: set[str] | None = getattr(user, "_tagger_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._tagger_roles = cache  # type: ignore[attr-defined]  # a per-request cache on the instance
    return role in cache


def signed_in(user: AnyUser) -> User:
    """request.user in a view that only a signed-in user gets to (a login, role or
    permission check ran first), typed as the User it then is."""
    assert isinstance(user, User), "the view's login check lets no anonymous user through"
    return user


def is_admin(user: AnyUser) -> bool:
    return has_role(user, ADMIN)


def can_review(user: AnyUser) -> bool:
    return has_role(user, MERCHANDISER) or has_role(user, ADMIN)


def can_export(user: AnyUser) -> bool:
    """The export is for API clients and admins (merchandisers review instead)."""
    return has_role(user, API_CLIENT) or has_role(user, ADMIN)


def uses_pages(user: AnyUser) -> bool:
    """Whether the user works in the HTML pages (the dashboard, review, …): the
    roles that review do; API clients and users without a role do not."""
    return can_review(user)


def ensure_role_groups() -> dict[str, Group]:
    return {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}


def role_context(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", AnonymousUser())
    return {
        "is_tagger_admin": is_admin(user),
        "can_review": can_review(user),
        "is_api_user": has_role(user, API_CLIENT) and not uses_pages(user),
    }
