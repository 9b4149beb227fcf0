"""Two rules about the URL of an API call, kept out of the views because they hold for every
endpoint, and some of the API's URL modules belong to other apps:

- **A missing trailing slash** is a 308 Permanent Redirect to the URL with it. Django's
  CommonMiddleware (APPEND_SLASH) raised a RuntimeError for a POST, PUT, PATCH or DELETE
  with DEBUG on (the embedded mode turns it on): a 500, even anonymously. With DEBUG off it
  answered a 301, which clients follow with a GET and no body, so a
  ``POST /api/v1/conversations`` quietly became a list. A 308 keeps the method and the body
  (RFC 7538), and its JSON body names the right URL for a client that does not follow it.
- **A path id past 64 bits** (``/agents/9223372036854775808/``) is no such URL: 404, as an
  id that is not digits at all. Django's ``<int:…>`` converter matches any run of digits,
  and the value reached the database: SQLite raised OverflowError (a 500); PostgreSQL
  compared a bigint with a numeric. This is the converter's missing bound, checked once
  after the URL is resolved and before any view runs, whatever app's view it is.
"""

from __future__ import annotations

import json

from django.http.response import HttpResponseRedirectBase
from django.urls import is_valid_path
from django.utils.http import escape_leading_slashes

from chat.api.errors import error_response, is_api
from chat.inbound import INT_MAX


class ApiUrlMiddleware:
    """Sits inside WidgetCorsMiddleware (a browser follows a cross-origin redirect only with
    its CORS headers) and answers before CommonMiddleware could look at a 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request) and _slash_missing(request):
            return _redirect_with_slash(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not is_api(request):
            return None
        for value in (*view_args, *view_kwargs.values()):
            # `type is int`: a bool is no path id, and no converter makes one.
            if type(value) is int and value > INT_MAX:
                return error_response(404, "No such object: ids are at most 2^63-1.")
        return None


def _slash_missing(request) -> bool:
    # What CommonMiddleware.should_redirect_with_slash decides, for every method.
    path = request.path_info
    if path.endswith("/"):
        return False
    urlconf = getattr(request, "urlconf", None)
    return not is_valid_path(path, urlconf) and bool(is_valid_path(f"{path}/", urlconf))


class SlashRedirect(HttpResponseRedirectBase):
    """308 Permanent Redirect: the same method and body again (RFC 7538)."""

    status_code = 308


def _redirect_with_slash(request) -> SlashRedirect:
    location = escape_leading_slashes(request.get_full_path(force_append_slash=True))
    body = {
        "error": {
            "code": "trailing_slash",
            "message": f"API URLs end with a slash: {request.method} {location} (this 308 "
            "redirect keeps the method and the body).",
            "location": location,
        }
    }
    return SlashRedirect(location, content=json.dumps(body), content_type="application/json")
