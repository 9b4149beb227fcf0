"""One error shape for the whole API: {"error": {"code", "message", "field"?}}."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from chat import metrics
from chat.api.errors import throttled_message
from chat.exceptions import ParleyError


def exception_handler(exc, context):
    if isinstance(exc, ParleyError):
        body = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response({"error": body}, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        message = "The request body is too large."
        return Response({"error": {"code": "too_large", "message": message}}, status=413)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database refused, dropped or timed out (a restart, a failover, a full pool)
        # or a transaction lost a deadlock: transient, so a 503 the client retries, not a
        # 500 (a fault probe's refused connections were 500s). A POST is retried safely
        # with its Idempotency-Key.
        message = "The database is unavailable for a moment; retry shortly."
        response = Response({"error": {"code": "unavailable", "message": message}}, status=503)
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, MultiPartParserError):
        message = f"The multipart body could not be read: {exc}"
        return Response({"error": {"code": "invalid_body", "message": message}}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.Throttled):
        metrics.RATE_LIMITED.labels(endpoint="rest").inc()
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        body = {"code": "invalid_field", "message": message, "details": exc.detail}
        if field:
            body["field"] = field
        response.data = {"error": body}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        body = {"code": code, "message": str(exc.detail)}
        if getattr(exc, "wait", None):
            body["retry_after"] = int(exc.wait)
        if getattr(exc, "limit", None):
            body["limit"] = exc.limit
        if code == "throttled":  # DRF's own throttles (the anonymous one): Parley's shape
            body["code"], body["limit"] = "rate_limited", "rate"
            # DRF's detail is "Request was throttled. Expected available in N seconds."
            body["message"] = throttled_message(int(exc.wait or 1))
        response.data = {"error": body}
    return response


def _first_error(detail, prefix: str = "") -> tuple[str, str]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            # A nested object's own error (not an object at all) names that object.
            if key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                return _first_error(value, prefix)
            name = f"{prefix}.{key}" if prefix else str(key)
            field, message = _first_error(value, name)
            return (field or name), message
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], prefix)
    return prefix, str(detail)
