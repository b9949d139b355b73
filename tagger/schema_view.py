"""The OpenAPI schema at /api/schema/: YAML by default, JSON on request."""

from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

FORMATS = ("yaml", "json")


class SchemaView(SpectacularAPIView):
    """The schema, YAML unless asked for JSON: `?format=json` (or `yaml`), or an
    Accept header (application/json, application/vnd.oai.openapi+json;
    application/yaml, application/vnd.oai.openapi). The API turns DRF's
    `?format=` override off (URL_FORMAT_OVERRIDE: the export has a `format` of
    its own), so this view reads the parameter itself: it wins over the Accept
    header, and another value is a 400."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        requested = request.query_params.get("format")
        if requested is None:
            return super().perform_content_negotiation(request, force)
        if requested not in FORMATS:
            if force:  # rendering the error below: as JSON, the API's error body
                renderer = OpenApiJsonRenderer2()
                return renderer, renderer.media_type
            raise ValidationError({"format": [f"use one of {', '.join(FORMATS)}"]})
        # The parameter wins over an Accept header that names the other format.
        renderers = [r for r in self.get_renderers() if r.format == requested]
        try:
            selected: tuple[BaseRenderer, str] = self.get_content_negotiator().select_renderer(
                request, renderers
            )
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
        return selected
