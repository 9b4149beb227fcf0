"""The OpenAPI schema's view: `?format=json` or `?format=yaml` picks the encoding.

The API turns DRF's `?format=` override off (`URL_FORMAT_OVERRIDE: None`: a `format`
parameter is an ordinary query parameter there), which left `/api/schema/?format=json`,
as drf-spectacular documents it, answering YAML. The schema's view alone takes it back.
An `Accept` header (`application/vnd.oai.openapi+json`, `application/json`) still works.
"""

from drf_spectacular.views import SpectacularAPIView
from rest_framework.negotiation import DefaultContentNegotiation

FORMATS = ("json", "yaml")


class SchemaNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        requested = request.query_params.get("format")
        # Anything else (or nothing) falls back to the Accept header: an unknown value is
        # not worth a 404 on a schema page.
        if format_suffix is None and requested in FORMATS:
            format_suffix = requested
        return super().select_renderer(request, renderers, format_suffix)


class SchemaView(SpectacularAPIView):
    content_negotiation_class = SchemaNegotiation
