"""Who may call what. A token acts with its scope, never beyond its user's role
(annotation.services.tokens.scope_within_role, checked on every request)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from annotation import roles
from annotation.models import ApiToken
from annotation.services import tokens


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class IsTaggerAdmin(BasePermission):
    """Admin role by session, or an admin-scoped token of an admin."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = _token(request)
        if token is not None:
            return token.scope == ApiToken.Scope.ADMIN and tokens.scope_within_role(
                token.user, token.scope
            )
        return roles.is_admin(request.user)


class CanReview(BasePermission):
    """Merchandisers and admins by session; admin-scoped tokens for review tools."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = _token(request)
        if token is not None:
            return (
                token.scope == ApiToken.Scope.ADMIN
                and tokens.scope_within_role(token.user, token.scope)
                and roles.can_review(token.user)
            )
        return roles.can_review(request.user)


class CanReadCatalog(BasePermission):
    """Reviewers read the catalogue and suggestions; writes need CanReview or admin."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method not in SAFE_METHODS:
            return False
        return CanReview().has_permission(request, view)


class ReviewerReadsAdminWrites(BasePermission):
    """Reviewers read the catalogue and the taxonomy; only admins change them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return CanReview().has_permission(request, view)
        return IsTaggerAdmin().has_permission(request, view)


class CanExport(BasePermission):
    """Read-only export: API clients and admins, by session or by a token of
    either scope, as long as the token's owner may export: a token issued to a
    merchandiser exports no more than the merchandiser's session does."""

    message = "Only API clients and admins may export; this token's owner is neither."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method not in SAFE_METHODS:
            return False
        token = _token(request)
        if token is not None:
            return tokens.scope_within_role(token.user, token.scope) and roles.can_export(
                token.user
            )
        return roles.can_export(request.user)


class TokenRateThrottle(SimpleRateThrottle):
    """Throttle per token; session users (the UI) are not throttled here."""

    scope = "token"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = _token(request)
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}
