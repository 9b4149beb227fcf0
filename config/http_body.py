"""Django's ASGI handler, reading a body sent without Content-Length.

Django reads a request's body up to its ``Content-Length`` and takes a missing header for 0,
so a body sent with ``Transfer-Encoding: chunked`` (daphne passes it on de-chunked) arrived
empty: a chunked POST of a message got "client_msg_id required", and a 10 MB one the same
400 instead of 413 (a black-box probe). The handler has read the whole body by the time it
makes the request; a request without the header gets one from what was read, and Django's
own limits (DATA_UPLOAD_MAX_MEMORY_SIZE: 413) then apply as to any other body.
"""

from __future__ import annotations

import os

from django.core.handlers.asgi import ASGIHandler


class BodyLengthASGIHandler(ASGIHandler):
    def create_request(self, scope, body_file):
        headers = scope.get("headers") or []
        if not any(name.lower() == b"content-length" for name, _ in headers):
            size = body_file.seek(0, os.SEEK_END)
            body_file.seek(0)
            if size:
                scope = {**scope, "headers": [*headers, (b"content-length", str(size).encode())]}
        return super().create_request(scope, body_file)
