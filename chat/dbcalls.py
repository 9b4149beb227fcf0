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

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

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
    locks whole tables across threads), Channels' own thread-sensitive thread runs it."""
    if settings.PARLEY["DB_THREADS"] <= 1:
        return database_sync_to_async(func)
    return database_sync_to_async(func, thread_sensitive=False, executor=_pool())


def shutdown() -> None:
    """Let the threads finish what they run and stop (tests, before the database goes)."""
    global _executor
    with _lock:
        if _executor is not None and _executor[0] == os.getpid():
            _executor[1].shutdown(wait=True)
        _executor = None
