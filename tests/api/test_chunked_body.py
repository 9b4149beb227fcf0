"""A body sent with Transfer-Encoding: chunked (no Content-Length) is read whole, through the
real ASGI application (config/http_body.py): Django alone read it as empty."""

from __future__ import annotations

import json

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application
from tests.factories import make_site

pytestmark = pytest.mark.django_db(transaction=True)

CHUNKED = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked"),
           (b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]  # fmt: skip


async def post(body: bytes) -> tuple[int, dict]:
    comm = HttpCommunicator(application, "POST", "/api/v1/widget/sessions/", body, CHUNKED)
    response = await comm.get_response(timeout=10)
    return response["status"], json.loads(response["body"] or b"{}")


async def test_a_chunked_body_is_read_whole():
    from channels.db import database_sync_to_async

    site = await database_sync_to_async(make_site)()
    status, body = await post(json.dumps({"site_key": site.key}).encode())
    assert status in (200, 201), body
    assert body["token"]


async def test_a_chunked_body_over_the_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    status, body = await post(b'{"site_key": "' + b"x" * 5000 + b'"}')
    assert status == 413, body
