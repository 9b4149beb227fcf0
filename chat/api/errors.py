"""Every error under /api/ is JSON in the API's one shape, ``{"error": {"code", "message"}}``,
including those Django answers before or after DRF: a URL that matches nothing (404), a
body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), a multipart body Django cannot parse (it
answered 400 with no content), and any unhandled exception (500)."""

from __future__ import annotations

from http import HTTPStatus

from django.http import JsonResponse
from django.views import defaults

API_PREFIXES = ("/api/",)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}
MESSAGES = {
    404: "No such endpoint.",
    413: "The request body is too large.",
    500: "The server failed; the error was logged.",
}


def throttled_message(wait: int, over: str = "Too many requests") -> str:
    """Every 429's message, one sentence: what was exceeded, and when to retry (DRF's
    Throttled appends "Expected available in N seconds." to its detail: not used)."""
    return f"{over}: retry in {wait} s."


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def error_response(status: int, message: str | None = None, code: str | None = None):
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "code": code or CODES.get(status, "error"),
        "message": message or MESSAGES.get(status) or f"{phrase}.",
    }
    return JsonResponse({"error": body}, status=status)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class ApiErrorShapeMiddleware:
    """The safety net: an API error response that is not JSON is replaced by the shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 400 and is_api(request) and not _is_json(response):
            shaped = error_response(response.status_code)
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    shaped[header] = response[header]
            return shaped
        return response


def page_not_found(request, exception):
    if is_api(request):
        return error_response(404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return error_response(500)
    return defaults.server_error(request)


def bad_request(request, exception):
    if is_api(request):
        return error_response(400, "The request could not be read.")
    return defaults.bad_request(request, exception)
