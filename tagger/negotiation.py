"""Content negotiation for the API: DRF's, with an empty Accept header read as
no header at all."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    """An `Accept:` header with nothing in it (some HTTP clients send one when
    asked for none) accepts any media type, as a missing header does (RFC 9110,
    12.5.1), instead of DRF's 406 for a list with only an empty entry."""

    def get_accept_list(self, request: Request) -> list[str]:
        accepts = [token for token in super().get_accept_list(request) if token]
        return accepts or ["*/*"]
