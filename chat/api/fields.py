"""Integer fields of request bodies: ids (which also take their digits as a string) and
every other integer (which takes an integer only), as docs/api.md says at its top."""

from __future__ import annotations

from rest_framework import serializers

from chat import inbound
from chat.inbound import INT_MAX


class Integer(serializers.IntegerField):
    """An integer, and only that (a limit, a count): DRF's IntegerField reads "5" as 5, and
    the schema says integer. Only ids take their digits as a string (``Id``)."""

    def to_internal_value(self, data):
        if isinstance(data, (str, bool)):
            self.fail("invalid")
        return super().to_internal_value(data)


class Id(serializers.IntegerField):
    """A row's id (``site``, ``customer``, ``to_agent``…): an integer or its digits as a
    string (``"2"``, docs/api.md), 1 to 2^63-1. The string and the integer are one value:
    ``"9223372036854775808"`` is refused exactly as the JSON integer is, by the parser's
    64-bit check (chat/inbound.py: 400 ``invalid_field`` naming it, "out of range"); it
    reached the lookup and answered 404 (``to_agent``: ``agent_not_found``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            if not (data.isascii() and data.isdigit()):
                self.fail("invalid")
            data = inbound.parse_int(data)
            inbound.check({self.field_name: data})
        return super().to_internal_value(data)
