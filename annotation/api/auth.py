from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from annotation.models import ApiToken
from annotation.services.tokens import find_token


class ScopedTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tgr_...`; request.auth is the ApiToken (with its scope)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        token = find_token(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
