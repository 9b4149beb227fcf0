"""The base of every REST view: scopes (chat/api/permissions.py), Idempotency-Key on POST
(chat/api/idempotency.py), and cursor pages."""

from __future__ import annotations

from base64 import b64decode
from datetime import datetime
from typing import Any
from urllib import parse

from django.core import signing
from rest_framework.pagination import Cursor as DrfCursor
from rest_framework.pagination import CursorPagination, _positive_int
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from chat.api import idempotency
from chat.exceptions import ValidationError

PAGE_DEFAULT = 50
_CURSORS = signing.Signer(salt="parley.api.cursor")
PAGE_MAX = 200


class ApiView(APIView):
    scope_resource: str | None = None  # the API key scope's resource: "conversations", ...
    idempotency_redact: tuple[str, ...] = ()  # response fields never kept for a replay
    _idempotency = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            self._idempotency = idempotency.claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return idempotency.replayed(exc.record)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency = self._idempotency, None
        if record is not None:
            idempotency.store(record, response, self.idempotency_redact)
        return response

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # An exception no handler turned into a response (a 500): free the key.
            record, self._idempotency = self._idempotency, None
            if record is not None:
                idempotency.release(record)


def body_fields(request) -> dict[str, Any]:
    """The request's JSON body as an object, for a view that reads its fields one by one
    (the others go through a serializer, which checks the same): a body of ``5`` or
    ``[]`` is a 400, not an AttributeError."""
    data = request.data
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.", code="invalid_field")
    return data


class Cursor(CursorPagination):
    """Opaque cursors (``?cursor=``) over a stable ordering, ``limit`` per page (1-200).
    ``ordering`` picks one of the view's ``orderings``; ties break on id."""

    page_size = PAGE_DEFAULT
    page_size_query_param = "limit"
    max_page_size = PAGE_MAX

    def __init__(self, orderings: dict[str, tuple[str, ...]], default: str) -> None:
        self.orderings, self.default = orderings, default

    def get_ordering(self, request, queryset, view):
        name = request.query_params.get("ordering", self.default)
        if name not in self.orderings:
            raise ValidationError(
                f"ordering must be one of {', '.join(self.orderings)}.", field="ordering"
            )
        return self.orderings[name]

    def get_page_size(self, request):
        raw = request.query_params.get("limit")
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
            raise ValidationError(f"limit must be an integer from 1 to {PAGE_MAX}.", field="limit")
        return int(raw)

    def encode_cursor(self, cursor):
        # DRF's cursor is base64 of its position: anything decodable passed for one ("foo"
        # read as the first page). Signed, a cursor is only ever one this API handed out.
        url = super().encode_cursor(cursor)
        encoded = parse.parse_qs(parse.urlsplit(url).query)[self.cursor_query_param][0]
        return replace_query_param(url, self.cursor_query_param, _CURSORS.sign(encoded))

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            querystring = b64decode(_CURSORS.unsign(raw).encode("ascii")).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            cursor = DrfCursor(
                offset=_positive_int(tokens.get("o", ["0"])[0], cutoff=self.offset_cutoff),
                reverse=bool(int(tokens.get("r", ["0"])[0])),
                position=tokens.get("p", [None])[0],
            )
        except (signing.BadSignature, TypeError, ValueError) as exc:
            raise ValidationError("cursor is invalid.", field="cursor") from exc
        if cursor.position is not None:
            # A cursor is only base64: a forged position must be a 400, not a database error.
            field = self.ordering[0].lstrip("-")
            try:
                if field.endswith("_at"):
                    datetime.fromisoformat(cursor.position)
                else:
                    int(cursor.position)
            except ValueError as exc:
                raise ValidationError("cursor is invalid.", field="cursor") from exc
        return cursor

    def page(self, queryset, request, view) -> list:
        return list(self.paginate_queryset(queryset, request, view=view))

    def envelope(self, results: list[Any]) -> dict[str, Any]:
        return {
            "results": results,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
        }
