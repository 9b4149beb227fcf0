"""CORS for the API, so the widget can call it from the sites that embed it.

Credentials (cookies) are never allowed cross-origin: a foreign page can only use a
visitor token or an API key it already holds. Which sites may start visitor sessions is
checked against Site.allowed_origins in the service, not here.
"""

from __future__ import annotations

from django.http import HttpResponse

from chat.api.throttles import charge_response, rate_headers

API_PREFIX = "/api/v1/"


class WidgetCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
        else:
            response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = origin
        # Every method and header the API documents: an integrator's browser code may
        # PATCH and DELETE with its key, and retry POSTs with an Idempotency-Key (no
        # cookie rides along cross-origin, so this grants nothing a key does not).
        response["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        response["Access-Control-Allow-Headers"] = (
            "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
        )
        response["Access-Control-Expose-Headers"] = (
            "Retry-After, Idempotent-Replayed, X-Request-ID, RateLimit-Limit, "
            "RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"
        )
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
        return response


class ApiVolumeMiddleware:
    """Counts an API key's response bytes against its daily data quota, and tells a metered
    caller where it stands (RateLimit-* headers; chat/api/throttles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            charge_response(request, response)
            rate_headers(request, response)
        return response
