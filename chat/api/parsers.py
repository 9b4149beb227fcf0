"""The API's JSON parser: DRF's, with Parley's input limits (chat/inbound.py). A body
nested 5,000 deep raised a RecursionError (a 500); NUL in a string failed in PostgreSQL;
an integer over 64 bits was stored and could never be pushed. Each is now a 400 in the
API's error shape."""

from __future__ import annotations

from rest_framework import parsers

from chat import inbound


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise inbound.too_deep(inbound.max_depth()) from None
        inbound.check(data)
        return data
