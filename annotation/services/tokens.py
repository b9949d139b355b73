import hashlib
import secrets

from django.contrib.auth.models import User
from django.utils import timezone

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
