"""A bound on the time an HTTP request waits for its response to start.

A database that stalls (a proxy or a network that stops forwarding, PostgreSQL itself up)
made REST requests wait forever: a query blocked on a socket that never answers, and
nothing above it had a clock (a fault probe). This ASGI wrapper gives the app
HTTP_RESPONSE_TIMEOUT seconds from the end of the request's body to its
``http.response.start``; past that the client gets the API's 503 ``unavailable`` (the same
body and ``Retry-After`` as chat/api/exceptions.py's answer to a database error) and
whatever the app sends later is dropped.

- The clock starts when the body has been read, so a slow upload is never cut.
- A response that started in time is never cut: a CSV export or a file download streams
  for as long as it needs.
- The app is left running, not cancelled: Django runs a view's sync code in a thread, and
  cancelling the task that waits for it neither stops the thread nor frees its database
  connection; it only makes Django run its request_finished handling (closing that
  connection) while the thread still uses it. Left alone, the app finishes when the
  database answers or its own timeouts fire, and cleans up after itself as usual.
- Websocket and lifespan scopes pass through untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

RETRY_AFTER = "5"  # as chat/api/exceptions.py's 503
BODY = json.dumps(
    {"error": {"code": "unavailable",
               "message": "The service is unavailable for a moment; retry shortly."}}
).encode()  # fmt: skip

# Apps still running after their 503: held here so they are not garbage-collected
# mid-run (the event loop keeps only weak references to tasks).
late: set[asyncio.Task] = set()


def response_timeout() -> float:
    """Seconds; 0 or less: no bound. Read per request, so tests can change it."""
    return float(settings.PARLEY["HTTP_RESPONSE_TIMEOUT"])


class ResponseDeadline:
    def __init__(self, app, timeout: float | None = None) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope, receive, send) -> None:
        timeout = self.timeout if self.timeout is not None else response_timeout()
        if scope["type"] != "http" or timeout <= 0:
            await self.app(scope, receive, send)
            return
        body_read = asyncio.Event()
        started = asyncio.Event()
        gave_up = False

        async def receive_() -> dict:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read.set()  # the last chunk, or a disconnect: nothing more to upload
            return message

        async def send_(message: dict) -> None:
            # `started` is set and `gave_up` read with no await in between, and the clock
            # below does the same the other way round: on one event loop, a response start
            # and the 503 can never both go out.
            if gave_up:
                return
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        app = asyncio.get_running_loop().create_task(self.app(scope, receive_, send_))
        try:
            await _first(app, body_read.wait(), started.wait())
            if not app.done() and not started.is_set():
                await _first(app, started.wait(), within=timeout)
            if app.done() or started.is_set():
                await app
                return
        except asyncio.CancelledError:
            # The server gave up on the request (the client left): as without this
            # wrapper, the app is cancelled with it.
            app.cancel()
            raise
        gave_up = True
        late.add(app)
        app.add_done_callback(_finished_late)
        logger.warning(
            "%s %s: no response within %s s (the database or a dependency stalled): 503",
            scope.get("method"), scope.get("path"), timeout,
        )  # fmt: skip
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
            (b"retry-after", RETRY_AFTER.encode()),
        ]})  # fmt: skip
        await send({"type": "http.response.body", "body": BODY})


async def _first(app: asyncio.Task, *events, within: float | None = None) -> None:
    """Until the app ends, one of ``events`` (coroutines) is done, or ``within`` passed."""
    waiters = [asyncio.ensure_future(event) for event in events]
    try:
        await asyncio.wait([app, *waiters], timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _finished_late(app: asyncio.Task) -> None:
    late.discard(app)
    if app.cancelled():
        return
    exc = app.exception()
    if exc is not None:
        # Its client already has the 503: logged, never raised into the server, which
        # would answer a request that is over with a 500.
        logger.error("a request answered 503 for its delay failed later", exc_info=exc)
