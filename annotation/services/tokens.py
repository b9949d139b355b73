import hashlib
import secrets

from django.contrib.auth.models import User
from django.utils import timezone

from annotation import roles
from annotation.models import ApiToken

TOKEN_PREFIX = "tgr_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_token(
    *, user: User, name: str, scope: str, created_by: User | None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key. The key is not stored and
    cannot be shown again."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=key[: len(TOKEN_PREFIX) + 6],
        key_hash=_hash(key),
        created_by=created_by,
    )
    return token, key


def scope_within_role(user: User, scope: str) -> bool:
    """Whether a token of `scope` may act for `user` with their role now: an
    admin token needs an admin, an export token someone whose session may
    export (an API client or an admin). A token never exceeds its owner's role;
    checked on every request, so a role taken away disarms its tokens."""
    if scope == ApiToken.Scope.ADMIN:
        return roles.is_admin(user)
    if scope == ApiToken.Scope.EXPORT:
        return roles.can_export(user)
    return False


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def find_token(key: str) -> ApiToken | None:
    """The live token for a presented key, or None."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute so reads do not turn into a write per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
