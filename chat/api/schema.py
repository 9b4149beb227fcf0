"""Makes the OpenAPI schema true to what the server answers (drf-spectacular's
postprocessing hook): every operation documents its errors in the one shape (including
429 and 503 with Retry-After), every answer its RateLimit-* headers, and every POST its
Idempotency-Key header."""

from __future__ import annotations

from chat.inbound import INT_MAX

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_METERED = (
    " Set when the call was metered: an API key, visitor token or agent session, past its"
    " permission check."
)
RATE_LIMIT = {
    "RateLimit-Limit": {
        "description": "Calls allowed in the window of the request limit closest to running "
        "out." + _METERED,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Calls left in that window (0 on the 429 it refused)." + _METERED,
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until that window has fully moved on (the windows slide: "
        "calls free up before; on a 429, the Retry-After wait)." + _METERED,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Policy": {
        "description": 'Every request limit of the caller, as "amount;w=seconds", comma '
        "separated." + _METERED,
        "schema": {"type": "string"},
    },
}
ERRORS = {
    "400": "Invalid input (the field is named in `error.field`).",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Not allowed: not this caller's, or the API key lacks the scope.",
    "404": "No such object (or not visible to the caller), or no such URL.",
    "409": "A state conflict, or an Idempotency-Key reused for another request or still running.",
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
    "429": "Over a rate limit or a daily quota (`error.limit`); wait `Retry-After` seconds.",
    "500": "Server error (logged).",
    "503": "Usage cannot be metered right now; retry after `Retry-After` seconds.",
}
WITH_BODY = {"post", "put", "patch"}
ERROR_BODY = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable, machine-readable."},
        "message": {"type": "string"},
        "field": {"type": "string", "description": "The offending input, when one is."},
        "details": {"description": "Every field's errors, for invalid input."},
        "limit": {"type": "string", "description": "The limit reached (429)."},
        "retry_after": {"type": "integer", "description": "Seconds (429, 503)."},
    },
    "required": ["code", "message"],
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Makes the POST safe to retry for 24 h: a retry gets the first "
    "response (with `Idempotent-Replayed: true`); the same key with another request: 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}


def add_errors_and_idempotency(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ERROR_BODY
    schemas["ErrorOut"] = {
        "type": "object",
        "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
        "required": ["error"],
    }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code in ("413", "415") and method not in WITH_BODY:
                    continue
                entry = responses.setdefault(code, {"description": description})
                entry["content"] = {"application/json": {"schema": ERROR_REF}}
                entry.setdefault("description", description)
                if code in ("429", "503"):
                    entry["headers"] = RETRY_AFTER
            for code, entry in responses.items():
                if code not in ("401", "503"):  # not metered: no caller, or no store
                    entry.setdefault("headers", {}).update(RATE_LIMIT)
            for parameter in operation.get("parameters", []):
                # Every integer filter is bounded by 64 bits where filters are parsed
                # (chat.api.conversations.query): the schema says so for each.
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "integer":
                    schema.setdefault("maximum", INT_MAX)
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY)
    return result
