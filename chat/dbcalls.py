"""Where a socket's database work runs: a small pool of threads per process (DB_THREADS),
each with its own connection from the psycopg pool.

Channels' ``database_sync_to_async`` is thread-sensitive by default: every call of every
socket in the process waits for one thread, so one slow statement (or a PostgreSQL busy
elsewhere) delays every send, receipt and ping behind it; measured here, that one thread
was the ceiling of the whole send path. Each call is a self-contained transaction, so any
thread can run it; a socket still handles its own frames one at a time, in order (the
socket's inbox), so nothing of one socket is reordered. The calls still close stale
connections before and after, as ``database_sync_to_async`` does.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections

_lock = threading.Lock()
_executor: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None or _executor[0] != os.getpid():
            workers = max(1, settings.PARLEY["DB_THREADS"])
            _executor = (
                os.getpid(),
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parley-db"),
            )
        return _executor[1]


def db(func: Callable[..., Any]) -> Callable[..., Any]:
    """``await db(service)(**kwargs)``: run a service on the database threads. With
    ``DB_THREADS`` 1 (SQLite, which has one writer and whose shared in-memory test database
    locks whole tables across threads), the one thread-sensitive thread runs it, and keeps
    its connection (_kept)."""
    if settings.PARLEY["DB_THREADS"] <= 1:
        return sync_to_async(_kept(func), thread_sensitive=True)
    return database_sync_to_async(func, thread_sensitive=False, executor=_pool())


def _kept(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` on a connection kept across calls, closed only if an error left it unusable.

    ``database_sync_to_async`` closes the connection after every call when CONN_MAX_AGE is
    0 (as it must be for the HTTP requests: under ASGI each has a thread of its own, whose
    persistent connection would outlive it). Every socket's calls share this one thread, so
    closing bought nothing, and opening SQLite afresh (its file, the WAL pragmas, Django's
    functions) took 14 % of the embedded server's CPU on the send path."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                if connection.connection is not None and connection.errors_occurred:
                    if connection.in_atomic_block or not connection.is_usable():
                        connection.close()
                    else:
                        connection.errors_occurred = False

    return run


def shutdown() -> None:
    """Let the threads finish what they run and stop (tests, before the database goes)."""
    global _executor
    with _lock:
        if _executor is not None and _executor[0] == os.getpid():
            _executor[1].shutdown(wait=True)
        _executor = None


def drain(timeout: float = 30.0) -> bool:
    """Tests: wait until the database threads have finished what they were given.

    A socket's call outlives its coroutine: a test's communicator that gives up on a
    consumer's disconnect cancels the coroutine, not the thread running its service, which
    may still write (an offer withdrawn when the agent's last console goes) while the test
    database is flushed for the next test. One rendezvous task per thread, queued behind
    everything given before: when all of them meet, no earlier call is still running. The
    threads stay (ending them would strand the pooled connections they hold). False if
    they do not meet within `timeout`."""
    with _lock:
        current = _executor[1] if _executor is not None and _executor[0] == os.getpid() else None
    if current is None:
        return True
    workers = current._max_workers  # what _pool() gave it
    barrier = threading.Barrier(workers + 1, timeout=timeout)

    def meet() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    for _ in range(workers):
        current.submit(meet)
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        return False
    return True
