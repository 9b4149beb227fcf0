"""When a customer's widget was last open, written in batches: a widget ping or connect
only notes the time in memory, and one statement per process stores every note of the
last CUSTOMER_SEEN_FLUSH_SECONDS. An idle socket then costs the database nothing; the
"customer left" timers count in minutes (CUSTOMER_LEFT_AFTER), so seconds of delay do not
matter, and a process that dies loses at most that much of a sign of life."""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from chat.models import Customer

logger = logging.getLogger(__name__)


class SeenBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, dt.datetime] = {}
        self._pid = 0
        self._wake = threading.Event()

    def note(self, customer_id: int, now: dt.datetime | None = None) -> None:
        with self._lock:
            self._pending[customer_id] = now or timezone.now()
            if self._pid != os.getpid():  # first note in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="parley-seen", daemon=True).start()

    def flush(self) -> int:
        """Store what was noted; returns how many customers. Safe from any thread."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        # One time for the whole batch (the latest noted): the timers count in minutes,
        # and a per-row CASE over 10,000 customers took the GIL from the event loop for
        # seconds while Django compiled it (pong p99 2 s in bench/idle_sockets.py).
        seen_at = max(pending.values())
        ids = sorted(pending)
        for start in range(0, len(ids), 5000):
            Customer.objects.filter(pk__in=ids[start : start + 5000]).update(last_seen_at=seen_at)
        return len(ids)

    def discard(self) -> None:
        """Forget what was noted (tests: ids restart with each test database)."""
        with self._lock:
            self._pending = {}

    def _run(self) -> None:
        while True:
            self._wake.wait(settings.PARLEY["CUSTOMER_SEEN_FLUSH_SECONDS"])
            self._wake.clear()
            try:
                close_old_connections()
                self.flush()
            except Exception:  # the next round retries what it notes anew
                logger.warning("storing customers' last_seen_at failed", exc_info=True)
            finally:
                connection.close()  # back to the pool: this thread sleeps for seconds


_buffer = SeenBuffer()


@atexit.register
def _flush_at_exit() -> None:
    try:
        _buffer.flush()
    except Exception:  # the database may be gone already; a sign of life is not worth a trace
        logger.debug("last_seen_at not stored at exit", exc_info=True)


def customer_seen_soon(*, customer_id: int, now: dt.datetime | None = None) -> None:
    """Note that the customer's widget is open now (stored within seconds)."""
    _buffer.note(customer_id, now)


def customer_seen_flush() -> int:
    """Store the notes now (tests, and a process that is about to exit)."""
    return _buffer.flush()
