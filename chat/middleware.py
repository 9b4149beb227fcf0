"""CORS for the API, so the widget can call it from the sites that embed it.

Credentials (cookies) are never allowed cross-origin: a foreign page can only use a
visitor token or an API key it already holds. Which sites may start visitor sessions is
checked against Site.allowed_origins in the service, not here.
"""

from __future__ import annotations

from django.http import HttpResponse

from chat.api.throttles import charge_response

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
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
        return response


class ApiVolumeMiddleware:
    """Counts an API key's response bytes against its daily data quota (chat/api/throttles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            charge_response(request, response)
        return response
