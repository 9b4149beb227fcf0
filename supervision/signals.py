"""Process hooks: Celery's signals for metrics, logs and beat's heartbeat, and the exit of
a process for the multiprocess metrics. Connected once, when the app is ready."""

from __future__ import annotations

import atexit
import contextlib
import threading
import time

from celery.signals import (
    beat_init,
    task_failure,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
)
from django.core.cache import cache

from chat import logcontext, metrics

BEAT_HEARTBEAT_KEY = "celery:beat-heartbeat"
BEAT_HEARTBEAT_INTERVAL = 5.0


def beat_heartbeat_write() -> None:
    cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=300)


def _beat_heartbeats(**_kwargs) -> None:
    """Beat writes its own heartbeat, so /healthz tells "beat is down" (both stale) from
    "the workers are down" (only the worker's, which runs a task beat sends, is stale)."""

    def loop() -> None:
        while True:
            with contextlib.suppress(Exception):  # Redis down: /healthz shows it itself
                beat_heartbeat_write()
            time.sleep(BEAT_HEARTBEAT_INTERVAL)

    threading.Thread(target=loop, name="parley-beat-heartbeat", daemon=True).start()


def _task_failed(sender=None, **_kwargs) -> None:
    metrics.TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


def _task_started(task_id=None, task=None, **_kwargs) -> None:
    logcontext.clear()
    logcontext.bind(task=getattr(task, "name", ""), task_id=task_id)


def _task_ended(**_kwargs) -> None:
    logcontext.clear()


beat_init.connect(_beat_heartbeats, weak=False)
task_failure.connect(_task_failed, weak=False)
task_prerun.connect(_task_started, weak=False)
task_postrun.connect(_task_ended, weak=False)
worker_process_shutdown.connect(lambda **_k: metrics.process_exited(), weak=False)
atexit.register(metrics.process_exited)
