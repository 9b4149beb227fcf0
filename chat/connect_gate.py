"""How many sockets of a process run their connect at once, and which are too late to run.

When a process dies its thousands of sockets reconnect to the others at once (a reconnect
storm). Each connect is a few database calls (the token, the hello's snapshot, a waiting
customer's place in line), and they all share the process's few database threads. Left
alone, every connect's calls queue together: each call waits behind one of every other
connect's, so no connect finishes until almost all of them have, and past daphne's
handshake timeout (it then answers 403) they all fail together. Their clients retry, the
server still does the work of the handshakes it already gave up on, and the storm feeds
itself: measured with 2,500 reconnects, the snapshot's statements ran 8 times per
client and 6 % were back within 15 s (docs/benchmarks.md).

So a connect first waits for one of ``WS_CONNECT_CONCURRENCY`` slots, in arrival order
(asyncio's semaphore wakes its waiters first in, first out): the first to arrive are
served first, and those behind wait at no cost. A connect's time is mostly waits (its
database calls, Redis), so the slots outnumber the database threads (64: in a storm, 16
left the process short of its core, 256 measured as 64). One that
waited past its handshake's deadline (daphne's ``--websocket_connect_timeout``, which
``config/server.py`` sets to ``WS_CONNECT_TIMEOUT``) is refused at once without any
database work: daphne has rejected it or is about to, and its client has retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from django.conf import settings

from chat import metrics

# daphne checks its handshakes' age once a second: one older than the timeout less this
# may be rejected before its answer could go out.
CHECK_INTERVAL = 1.0

_gates: dict[asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]] = {}


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    size = max(1, settings.PARLEY["WS_CONNECT_CONCURRENCY"])
    gate = _gates.get(loop)
    if gate is None or gate[0] != size:
        for old in [known for known in _gates if known.is_closed()]:
            del _gates[old]  # the test suite's loops, one per test
            _queued.pop(old, None)
        gate = _gates[loop] = (size, asyncio.Semaphore(size))
    return gate[1]


def budget() -> float:
    """Seconds a connect may wait for its slot and still be answered in time."""
    return max(0.0, settings.PARLEY["WS_CONNECT_TIMEOUT"] - CHECK_INTERVAL)


_queued: dict[asyncio.AbstractEventLoop, int] = {}


def waiting() -> int:
    """Connects of this process (its running loop) waiting for a slot now."""
    return _queued.get(asyncio.get_running_loop(), 0)


@contextlib.asynccontextmanager
async def admitted(endpoint: str) -> AsyncIterator[bool]:
    """``async with admitted("widget") as ok:`` holds a slot; ``ok`` is False when the
    connect waited too long to be worth running."""
    arrived = time.monotonic()
    gate, loop = _semaphore(), asyncio.get_running_loop()
    _queued[loop] = _queued.get(loop, 0) + 1
    try:
        await gate.acquire()
    finally:
        _queued[loop] -= 1
    try:
        ok = time.monotonic() - arrived <= budget()
        if not ok:
            metrics.CONNECTS_LATE.labels(endpoint=endpoint).inc()
        yield ok
    finally:
        gate.release()
