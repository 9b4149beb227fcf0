"""The API's JSON parser: DRF's, with Parley's input limits (chat/inbound.py). A body
nested 5,000 deep raised a RecursionError (a 500); NUL in a string failed in PostgreSQL;
an integer over 64 bits was stored and could never be pushed. Each is now a 400 in the
API's error shape.

Every JSON body the API takes is an object: ``[1]``, ``null``, ``"x"`` or ``3`` is refused
here, once for every endpoint, as ``invalid_field`` on ``body`` (a serializer would have
answered ``non_field_errors``, a view reading fields an AttributeError)."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers

from chat import inbound
from chat.exceptions import ValidationError

NOT_AN_OBJECT = "The body must be a JSON object."


def require_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError(NOT_AN_OBJECT, field="body")
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise inbound.too_deep(inbound.max_depth()) from None
        require_object(data)
        inbound.check(data)
        return data
