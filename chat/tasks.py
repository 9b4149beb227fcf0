from __future__ import annotations

import threading
import time

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection

from chat.api import idempotency
from chat.pipeline import detection
from chat.services import attachments, pipeline, pipeline_batch

WORKER_HEARTBEAT_KEY = "celery:heartbeat"


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    """Beat sends this every few seconds; /healthz reports how fresh it is, so "are the
    workers alive?" has an answer (and the language pipeline can choose its fast path)."""
    # A worker that cannot reach its database does no useful work: it beats only after a
    # round trip, so /healthz reports it (degraded) instead of "up".
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set(WORKER_HEARTBEAT_KEY, time.time(), timeout=300)


# --- language pipeline (chat/pipeline) ------------------------------------------------------
# Idempotent (every step is a conditional update or a unique row), so late acks are safe:
# a redelivered task gives the same rows. Database errors retry with backoff and a cap.
PIPELINE_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**PIPELINE_TASK_OPTIONS)
def message_pipeline_run(self, message_id: int) -> None:
    """Detection, moderation with the detected language, translation; each pushed as
    message.updated. Engine failures are not retried here: the translation is marked
    unavailable with its own backoff, and pipeline_sweep queues it again when due."""
    pipeline.message_pipeline_process(message_id=message_id)


@shared_task(**PIPELINE_TASK_OPTIONS)
def message_pipeline_run_many(self, message_ids: list[int]) -> None:
    """A burst of messages in one task (queued by the sending process's batcher)."""
    pipeline_batch.message_pipeline_process_many(message_ids=message_ids)


@shared_task(ignore_result=True)
def pipeline_sweep() -> None:
    """Beat: re-queue messages whose task never ran and translations due for a retry."""
    pipeline.pipeline_sweep()


@shared_task(ignore_result=True)
def idempotency_purge() -> None:
    """Beat: drop Idempotency-Key records past IDEMPOTENCY_TTL."""
    idempotency.purge()


@shared_task(ignore_result=True)
def attachments_purge() -> None:
    """Beat: delete uploads never sent, ATTACHMENT_UNSENT_TTL after their upload."""
    attachments.attachments_purge_unsent(
        older_than_seconds=settings.PARLEY["ATTACHMENT_UNSENT_TTL"]
    )


def _warm_up_detector(**_kwargs) -> None:
    """Load the language models in the background when a worker process starts, so the
    first message after a restart doesn't wait ~2 s for them."""
    threading.Thread(target=detection.warm_up, name="lingua-warm-up", daemon=True).start()


# Prefork children (the default pool); a solo worker loads the models on its first task.
worker_process_init.connect(_warm_up_detector)
