"""The one page an API client gets: what their tokens can do. Every other page
is for the roles that review (403 for API clients, the dashboard included)."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from annotation import roles
from annotation.models import ApiToken
from annotation.services import tokens
from annotation.views.access import SignedInRequest

# What a token of each scope may do, when its owner's role allows the scope.
SCOPE_ABILITIES = {
    ApiToken.Scope.EXPORT: _(
        "Read the approved tags with their provenance: GET /api/v1/export/ (JSON, JSONL or CSV)."
    ),
    ApiToken.Scope.ADMIN: _(
        "Everything an admin may do through /api/v1/: the export, the catalogue, the "
        "taxonomy, reviews, tokens, webhooks and training."
    ),
}


@dataclass
class TokenRow:
    token: ApiToken
    acts: bool
    ability: str


@login_required
@require_GET
def api_access(request: SignedInRequest) -> HttpResponse:
    """The signed-in user's live tokens (never their keys) and what each may do
    with the user's role today."""
    user = request.user
    rows = [
        TokenRow(
            token=token,
            acts=tokens.scope_within_role(user, token.scope),
            ability=str(SCOPE_ABILITIES.get(ApiToken.Scope(token.scope), "")),
        )
        for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-id")
    ]
    context = {
        "rows": rows,
        "can_export": roles.can_export(user),
        "uses_pages": roles.uses_pages(user),
    }
    return render(request, "annotation/api_access.html", context)
