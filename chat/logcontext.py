"""Structured logs: one JSON object per line (structlog's formatter over the standard
``logging`` calls the code already makes), carrying whatever ids are bound in the current
context: ``request_id`` and ``user`` for a request, ``socket``, ``agent``, ``customer`` and
``conversation`` for a socket's frame, ``task`` for a Celery task.

Context variables follow the code across ``await`` and into the database threads
(asgiref copies the context), and each request or frame binds its own, so one socket's ids
never leak into another's lines. No address a client can set (X-Forwarded-For, X-Real-IP)
is ever logged: a request id from a proxy is accepted only in a strict shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

bind = structlog.contextvars.bind_contextvars
bound = structlog.contextvars.bound_contextvars
clear = structlog.contextvars.clear_contextvars


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """The ``json`` formatter of settings.LOGGING."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def request_id_from(header: str | None) -> str:
    """A proxy's X-Request-ID when it has a safe shape, else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


# Bound by process_view, once the URL and the session are known; unbound after the request.
VIEW_KEYS = ("conversation", "user")


class RequestLogContextMiddleware:
    """Binds a request id (echoed in the X-Request-ID response header), the conversation a
    URL names and the logged-in user for the request's log lines, and forgets them
    afterwards."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        try:
            with bound(request_id=request_id):
                response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars(*VIEW_KEYS)
        response["X-Request-ID"] = request_id
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        conversation = view_kwargs.get("conversation_id")
        if isinstance(conversation, int):
            bind(conversation=conversation)
        # Only with a session cookie (the console, admin): their views read the user anyway,
        # so this costs no query of its own; a widget's calls carry none.
        has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
        if has_session and hasattr(request, "user") and request.user.is_authenticated:
            bind(user=request.user.pk)
