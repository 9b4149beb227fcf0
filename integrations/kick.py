"""Queueing Celery tasks after commit without making the committer wait on the broker: one
background thread per process does the broker writes. A kick that is lost (broker down,
process killed) costs latency only: the sweepers find every due delivery and pending rule
run in the database."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from celery import current_app

logger = logging.getLogger(__name__)
BROKER_BACKOFF = 30.0  # seconds without trying after a failed publish (the sweeper covers)


class _Kicker:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[str, tuple]] = queue.SimpleQueue()
        self._pid = 0
        self._lock = threading.Lock()
        self._down_until = 0.0
        # Kicks waiting in the queue: a burst on one lane queues one task, not one each
        # (the task sends everything due in its lane).
        self._waiting: set[tuple[str, tuple]] = set()

    def put(self, task: str, args: tuple) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first kick in this process (or after a fork)
                self._pid = os.getpid()
                self._waiting.clear()
                threading.Thread(target=self._run, name="integrations-kick", daemon=True).start()
            if (task, args) in self._waiting:
                return
            self._waiting.add((task, args))
        self._queue.put((task, args))

    def _run(self) -> None:
        while True:
            task, args = self._queue.get()
            with self._lock:
                self._waiting.discard((task, args))
            if time.monotonic() < self._down_until:
                continue
            try:
                current_app.tasks[task].apply_async(args, retry=False)
            except Exception:
                self._down_until = time.monotonic() + BROKER_BACKOFF
                logger.warning("could not queue %s%s", task, args, exc_info=True)


_kicker = _Kicker()


def kick(task: str, *args) -> None:
    _kicker.put(task, args)
