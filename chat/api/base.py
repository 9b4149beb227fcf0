"""The base of every REST view: scopes (chat/api/permissions.py), Idempotency-Key on POST
(chat/api/idempotency.py), and cursor pages."""

from __future__ import annotations

from base64 import b64decode
from datetime import datetime
from hashlib import sha256
from typing import Any
from urllib import parse

from django.core import signing
from rest_framework.pagination import Cursor as DrfCursor
from rest_framework.pagination import CursorPagination, _positive_int
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from chat.api import idempotency
from chat.api.parsers import JSONParser, require_object
from chat.exceptions import ValidationError

PAGE_DEFAULT = 50
_CURSORS = signing.Signer(salt="parley.api.cursor")
PAGE_MAX = 200


class ApiView(APIView):
    scope_resource: str | None = None  # the API key scope's resource: "conversations", ...
    idempotency_redact: tuple[str, ...] = ()  # response fields never kept for a replay
    # Query parameters the schema declares arrays (``?status=queued&status=assigned``);
    # tests/api/test_query_params.py holds this equal to the schema.
    repeatable_params: tuple[str, ...] = ()
    _idempotency = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            self._idempotency = idempotency.claim(request)
        self._check_query(request)
        self._check_body(request)

    def _check_query(self, request) -> None:
        """A scalar query parameter given twice is a 400 naming it. Django's QueryDict
        hands a view the last value, so ``?limit=abc&limit=5`` was a page of 5 and a bad
        first value was never seen: a client that built its URL wrong was not told."""
        for name, values in request.query_params.lists():
            if len(values) > 1 and name not in self.repeatable_params:
                raise ValidationError(
                    f"{name} is given {len(values)} times: it takes one value.", field=name
                )

    def _check_body(self, request) -> None:
        """Parse a JSON body now, after authentication, scopes and throttles and before the
        handler, so that a body that is not a JSON object is the same 400 on every endpoint
        (field ``body``), whatever the handler looks up first and even where it reads no
        body. After the idempotency claim, which fingerprints the raw bytes. A method the
        view does not take stays a 405; a body of another type is the handler's business
        (a 415 where it reads one)."""
        method = request.method.lower()
        if method not in ("post", "put", "patch") or not hasattr(self, method):
            return
        parser = request.negotiator.select_parser(request, request.parsers)
        if isinstance(parser, JSONParser):
            request.data  # noqa: B018 (parsing raises the 400)

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
    """The request's JSON body as an object, for a view that reads its fields one by one.
    The JSON parser already refuses anything else (chat/api/parsers.py); this only says so
    to the type checker and covers a body no parser read (none: ``{}``)."""
    return require_object(request.data)


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
        self.ordering_name = name
        return self.orderings[name]

    def get_page_size(self, request):
        raw = request.query_params.get("limit")
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
            raise ValidationError(f"limit must be an integer from 1 to {PAGE_MAX}.", field="limit")
        return int(raw)

    # A cursor is signed with the ordering, the filters and the list (the path) of the page
    # it came from: ``ordering=id``'s cursor replayed with ``ordering=-id`` (or another
    # filter, or on another conversation's messages) was accepted and returned other rows.
    # ``limit`` and ``cursor`` may change between pages.
    _UNBOUND = ("cursor", "limit", "ordering")

    def _filters(self, request) -> str:
        pairs = sorted(
            (name, value)
            for name, values in request.query_params.lists()
            if name not in self._UNBOUND
            for value in values
        )
        pairs.append(("\0path", request.path))
        return sha256(parse.urlencode(pairs).encode()).hexdigest()[:16]

    def encode_cursor(self, cursor):
        # DRF's cursor is base64 of its position: anything decodable passed for one ("foo"
        # read as the first page). Signed, a cursor is only ever one this API handed out,
        # for the ordering and filters it was handed out with.
        url = super().encode_cursor(cursor)
        encoded = parse.parse_qs(parse.urlsplit(url).query)[self.cursor_query_param][0]
        bound = f"{self.ordering_name}~{self._filters(self.request)}~{encoded}"
        return replace_query_param(url, self.cursor_query_param, _CURSORS.sign(bound))

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            ordering, filters, encoded = _CURSORS.unsign(raw).split("~", 2)
        except (signing.BadSignature, ValueError) as exc:
            raise ValidationError("cursor is invalid.", field="cursor") from exc
        if ordering != self.ordering_name:
            raise ValidationError(
                f"cursor belongs to another ordering ({ordering}): follow the `next` or "
                "`previous` link as given, or start again without a cursor.",
                field="cursor",
            )
        if filters != self._filters(request):
            raise ValidationError(
                "cursor belongs to other filters or another list: follow the `next` or "
                "`previous` link as given, or start again without a cursor.",
                field="cursor",
            )
        try:
            querystring = b64decode(encoded.encode("ascii")).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            cursor = DrfCursor(
                offset=_positive_int(tokens.get("o", ["0"])[0], cutoff=self.offset_cutoff),
                reverse=bool(int(tokens.get("r", ["0"])[0])),
                position=tokens.get("p", [None])[0],
            )
        except (TypeError, ValueError) as exc:
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
