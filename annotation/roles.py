"""Roles are Django groups. Admins run taxonomy, imports, training and tokens;
merchandisers review; API clients only read the export."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.http import HttpRequest

MERCHANDISER = "merchandiser"
ADMIN = "admin"
API_CLIENT = "api_client"
ROLES = (MERCHANDISER, ADMIN, API_CLIENT)

AnyUser = AbstractBaseUser | AnonymousUser


def has_role(user: AnyUser, role: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache = getattr(user, "_tagger_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
        user._tagger_roles = cache  # type: ignore[union-attr]
    return role in cache


def is_admin(user: AnyUser) -> bool:
    return has_role(user, ADMIN)


def can_review(user: AnyUser) -> bool:
    return has_role(user, MERCHANDISER) or has_role(user, ADMIN)


def ensure_role_groups() -> dict[str, Group]:
    return {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}


def role_context(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", AnonymousUser())
    return {"is_tagger_admin": is_admin(user), "can_review": can_review(user)}
