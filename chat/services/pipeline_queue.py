"""Queueing the language pipeline after commit: from one background thread per process,
in bursts (one Celery task for the messages committed within BATCH_WINDOW), so that the
sender never waits on the broker and the worker pays a task's overhead once per burst."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from celery import current_app
from django.db import transaction

from chat.models import Message
from chat.pipeline import conf

logger = logging.getLogger(__name__)
PIPELINE_TASK = "chat.tasks.message_pipeline_run"
PIPELINE_BATCH_TASK = "chat.tasks.message_pipeline_run_many"

# --- queueing ---------------------------------------------------------------------------------
# The broker is written to from one background thread per process: the sender's request
# never waits on it (a dead broker takes seconds to fail a connect, even with retry=False).
# Messages committed within a few milliseconds of each other go as one task: a task costs
# the worker more than a message does (Celery's signals, acks and bookkeeping).
_broker_down_until = 0.0
BROKER_BACKOFF = 30.0  # seconds without trying after a failed publish (the sweeper covers)
BATCH_WINDOW = 0.01  # seconds a burst may gather before its task is queued
# Seconds between two tasks of one process at least. At 60 msg/s a 10 ms window alone
# gathered about one message per task, and the worker paid ~4.5 ms a message, most of it
# the task's own overhead; with the interval a busy process sends 20 tasks a second of
# rate/20 messages each, while a quiet one still sends its lone message after 10 ms.
MIN_INTERVAL = 0.05
BATCH_MAX = 100


class _Batcher:
    def __init__(self, send: Callable[[list[int]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._wake = threading.Event()
        self._pid = 0
        self._send = send  # tests: a recorder; None: the broker
        self._last_sent = 0.0

    def add(self, message_id: int) -> None:
        with self._lock:
            self._ids.append(message_id)
            if self._pid != os.getpid():  # first message in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="pipeline-enqueue", daemon=True).start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            # Cleared before the ids are taken: an add after this point sets it again.
            self._wake.clear()
            time.sleep(max(BATCH_WINDOW, self._last_sent + MIN_INTERVAL - time.monotonic()))
            with self._lock:
                ids, self._ids = self._ids, []
            self._last_sent = time.monotonic()
            for start in range(0, len(ids), BATCH_MAX):
                (self._send or _enqueue_many)(ids[start : start + BATCH_MAX])


_batcher = _Batcher()


def message_pipeline_queue(*, message: Message) -> None:
    """Queue the Celery task once the message is committed, in the background. Nothing
    here can fail or slow the send: a task that could not be queued (broker down, process
    killed) leaves the message ``pipeline = pending``, and the sweeper queues it later."""
    if not conf.enabled():
        return
    message_id = message.pk
    transaction.on_commit(lambda: _batcher.add(message_id), robust=True)


def _enqueue_many(message_ids: list[int]) -> bool:
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False  # failed a moment ago: don't queue up seconds-long connect attempts
    try:
        # By name: the task module imports this one (tasks call services), not back.
        current_app.tasks[PIPELINE_BATCH_TASK].apply_async((message_ids,), retry=False)
    except Exception:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF
        logger.warning("could not queue the pipeline for messages %s", message_ids, exc_info=True)
        return False
    return True


def enqueue(message_id: int) -> bool:
    """Queue one message now (the sweeper's retries)."""
    return _enqueue_many([message_id])
