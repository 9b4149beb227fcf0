"""Bad input that Django would answer with a 500, answered with a 400 instead.

- A NUL character in the path or the query string: wherever a view or an admin list filter
  passes it to a query, PostgreSQL refuses it (DataError: "cannot contain NUL"), which was a
  500 on public pages (``/status/%00/``, ``/demo/%00/``, the widget frame's ``?site=%00``)
  and on some thirty admin filters. No URL of Parley's can hold one.
- In the admin, a value Django's own code converts without checking: a list filter's year
  past the calendar (``?created_at__year=18446744073709551616``: OverflowError), a selected
  row that is not an id (``_selected_action=abc``: ValueError), a value the database refuses.
  These reach no code of ours; the exception is logged, and the answer is a 400.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpResponseBadRequest, JsonResponse

logger = logging.getLogger("parley.bad_input")

ADMIN_PREFIX = "/admin/"
API_PREFIX = "/api/"


def _nul_at(request) -> str | None:
    """Where a NUL is: "" in the path, a query parameter's name, or None."""
    if "\x00" in request.path:
        return ""
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "")
    return None


def _bad_request(request, message: str, field: str = ""):
    if request.path.startswith(API_PREFIX):
        error = {"code": "invalid_field", "message": message}
        if field:
            error["field"] = field
        return JsonResponse({"error": error}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_at(request)
        if where is not None:
            return _bad_request(request, "A URL may not contain NUL characters.", where)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(ADMIN_PREFIX):
            return None
        if isinstance(exception, (ValueError, OverflowError, ValidationError, DataError)):
            logger.warning("admin: bad input answered with 400", exc_info=exception)
            return _bad_request(request, "This request has a value Parley cannot use.")
        return None
