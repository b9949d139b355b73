"""Who may call what. A token acts with its scope, never beyond its user's role."""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from annotation import roles
from annotation.models import ApiToken


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class IsTaggerAdmin(BasePermission):
    """Admin role by session, or an admin-scoped token."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = _token(request)
        if token is not None:
            return token.scope == ApiToken.Scope.ADMIN and roles.is_admin(request.user)
        return roles.is_admin(request.user)


class CanReview(BasePermission):
    """Merchandisers and admins by session; admin-scoped tokens for review tools."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = _token(request)
        if token is not None:
            return token.scope == ApiToken.Scope.ADMIN and roles.can_review(request.user)
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
    """Read-only export: API clients, admins, and tokens of either scope."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method not in SAFE_METHODS:
            return False
        if _token(request) is not None:
            return True
        return roles.has_role(request.user, roles.API_CLIENT) or roles.is_admin(request.user)


class TokenRateThrottle(SimpleRateThrottle):
    """Throttle per token; session users (the UI) are not throttled here."""

    scope = "token"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = _token(request)
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}
