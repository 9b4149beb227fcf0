"""Writes noted in memory and stored in batches by one background thread per process:
what sockets report at every ping (a customer's sign of life, a console's heartbeat) costs
the database a few statements per interval instead of one write per ping."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


class BatchWriter:
    """``note(key, value)`` keeps the latest value per key; every ``interval()`` seconds a
    thread passes what was noted to ``store`` (and ``flush()`` does it now). A failed store
    is logged and its notes are dropped: the next ping notes them again."""

    def __init__(
        self, name: str, store: Callable[[dict[Any, Any]], Any], interval: Callable[[], float]
    ) -> None:
        self.name, self._store, self._interval = name, store, interval
        self._lock = threading.Lock()
        self._pending: dict[Any, Any] = {}
        self._pid = 0
        atexit.register(self._flush_at_exit)

    def note(self, key: Any, value: Any) -> None:
        with self._lock:
            self._pending[key] = value
            if self._pid != os.getpid():  # first note in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name=self.name, daemon=True).start()

    def flush(self) -> Any:
        """Store what was noted now (tests; a process about to exit). Any thread."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return self._store(pending) if pending else None

    def discard(self) -> None:
        """Forget what was noted (tests: ids restart with each test database)."""
        with self._lock:
            self._pending = {}

    def _run(self) -> None:
        while True:
            threading.Event().wait(self._interval())
            try:
                close_old_connections()
                self.flush()
            except Exception:
                logger.warning("%s: storing a batch failed", self.name, exc_info=True)
            finally:
                connection.close()  # back to the pool: this thread sleeps for seconds

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except Exception:  # the database may be gone already
            logger.debug("%s: not stored at exit", self.name, exc_info=True)
