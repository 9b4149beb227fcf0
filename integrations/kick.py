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
from django.db import connections

logger = logging.getLogger(__name__)
BROKER_BACKOFF = 30.0  # seconds without trying after a failed publish (the sweeper covers)
BATCH_WINDOW = 0.01  # seconds a burst of kicks may gather
BATCH_MAX = 500
CHUNK = 20  # lanes per task: one worker sends them in turn, other workers take the rest


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

    def forget(self) -> None:
        with self._lock:
            self._down_until = 0.0

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(BATCH_WINDOW)  # a burst's kicks go out together
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            with self._lock:
                self._waiting.difference_update(batch)
            if time.monotonic() < self._down_until:
                continue
            by_task: dict[str, list[tuple]] = {}
            for task, args in batch:
                by_task.setdefault(task, []).append(args)
            for task, calls in by_task.items():
                self._send(task, calls)
            # With CELERY_TASK_ALWAYS_EAGER the tasks ran on this thread: give back the
            # pooled connection it took, or this never-ending thread keeps it for good.
            connections.close_all()

    def _send(self, task: str, calls: list[tuple]) -> None:
        """One task per call, or one ``<task>_many`` task per chunk when there is one
        (a broker publish costs the sender's process about a millisecond of CPU)."""
        many = current_app.tasks.get(f"{task}_many")
        try:
            if many is not None and len(calls) > 1:
                for start in range(0, len(calls), CHUNK):
                    many.apply_async((calls[start : start + CHUNK],), retry=False)
            else:
                for args in calls:
                    current_app.tasks[task].apply_async(args, retry=False)
        except Exception:
            self._down_until = time.monotonic() + BROKER_BACKOFF
            logger.warning("could not queue %s for %s", task, calls[:5], exc_info=True)


_kicker = _Kicker()


def forget() -> None:
    """Tests: a failed publish in one test (its broker backoff) must not swallow the next
    test's kicks for BROKER_BACKOFF seconds."""
    _kicker.forget()


def kick(task: str, *args) -> None:
    _kicker.put(task, args)
