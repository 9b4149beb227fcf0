"""config/deadline.py: a response that has not started HTTP_RESPONSE_TIMEOUT seconds after
the request's body ended is answered 503 `unavailable` with Retry-After, as the API answers
a database error; a response that started in time passes untouched (streams too); the
clock starts after the body; the app's later sends are dropped and its errors logged."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from config import deadline
from config.deadline import ResponseDeadline

SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/conversations/", "headers": []}
BOUND = 0.3


class Client:
    """The server's side: a request body in chunks, and what the app sent back."""

    def __init__(self, chunks=(b"",), gap: float = 0.0) -> None:
        self.chunks, self.gap = list(chunks), gap
        self.sent: list[dict] = []
        self.disconnect = asyncio.Event()

    async def receive(self) -> dict:
        if self.chunks:
            if self.gap:
                await asyncio.sleep(self.gap)
            body = self.chunks.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)


async def read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def slow_app(delay: float, *, fail: bool = False, log: list | None = None):
    async def app(scope, receive, send) -> None:
        await read_body(receive)
        await asyncio.sleep(delay)
        if fail:
            raise RuntimeError("the view failed after its deadline")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})
        if log is not None:
            log.append("sent")

    return app


def status_and_body(sent: list[dict]) -> tuple[int, dict, bytes]:
    start = sent[0]
    assert start["type"] == "http.response.start"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


async def test_no_response_in_time_is_a_503_in_the_api_shape():
    client = Client()
    began = time.monotonic()
    await ResponseDeadline(slow_app(30), timeout=BOUND)(SCOPE, client.receive, client.send)
    assert time.monotonic() - began < BOUND + 0.5
    status, headers, body = status_and_body(client.sent)
    assert status == 503
    assert headers[b"retry-after"] == b"5"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    assert json.loads(body)["error"]["code"] == "unavailable"
    assert json.loads(body)["error"]["message"]
    for task in list(deadline.late):
        task.cancel()


async def test_the_app_s_later_sends_are_dropped_and_its_errors_logged(caplog):
    client, failing = Client(), Client()
    log: list = []
    await asyncio.gather(
        ResponseDeadline(slow_app(BOUND * 3, log=log), timeout=BOUND)(
            SCOPE, client.receive, client.send
        ),
        ResponseDeadline(slow_app(BOUND * 3, fail=True), timeout=BOUND)(
            SCOPE, failing.receive, failing.send
        ),
    )
    assert len(deadline.late) == 2  # both still running, neither cancelled
    await asyncio.gather(*deadline.late, return_exceptions=True)
    await asyncio.sleep(0)  # the done callbacks
    assert log == ["sent"]  # the app did send, and nothing of it reached the client
    assert [m.get("status") for m in client.sent] == [503, None]
    assert [m.get("status") for m in failing.sent] == [503, None]
    assert not deadline.late
    assert "failed later" in caplog.text and "the view failed" in caplog.text


async def test_a_response_started_in_time_streams_untouched():
    chunks = [b"id,body\n", b"1,hello\n", b"2,world\n"]

    async def export(scope, receive, send) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/csv")]})  # fmt: skip
        for chunk in chunks:  # a slow stream: far longer in all than the bound
            await asyncio.sleep(BOUND * 0.8)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    client = Client()
    await ResponseDeadline(export, timeout=BOUND)(SCOPE, client.receive, client.send)
    status, headers, body = status_and_body(client.sent)
    assert (status, headers, body) == (200, {b"content-type": b"text/csv"}, b"".join(chunks))
    assert client.sent[-1] == {"type": "http.response.body", "body": b""}


async def test_the_clock_starts_when_the_body_has_been_read():
    # Five chunks BOUND apart: the upload alone takes over four bounds.
    client = Client(chunks=[b"a"] * 5, gap=BOUND)
    await ResponseDeadline(slow_app(BOUND / 3), timeout=BOUND)(SCOPE, client.receive, client.send)
    assert status_and_body(client.sent)[:2] == (200, {})


async def test_errors_in_time_propagate_and_other_scopes_pass_through():
    async def broken(scope, receive, send) -> None:
        raise ValueError("in time")

    client = Client()
    with pytest.raises(ValueError):
        await ResponseDeadline(broken, timeout=BOUND)(SCOPE, client.receive, client.send)

    seen = []

    async def socket_app(scope, receive, send) -> None:
        await asyncio.sleep(BOUND * 2)
        seen.append(scope["type"])

    for kind in ("websocket", "lifespan"):
        await ResponseDeadline(socket_app, timeout=BOUND)(
            {"type": kind}, client.receive, client.send
        )
    assert seen == ["websocket", "lifespan"]
    assert client.sent == []
