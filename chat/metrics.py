"""Prometheus metrics that every layer may increment (the core imports no app, so the
definitions live here). Each one is a counter, gauge or histogram from prometheus-client:
an increment is a few microseconds and never touches the database or Redis, so it can sit
on the hot path. Gauges read from the database (queue depth, the pipeline backlog) are
computed at scrape time by ``supervision.metrics``, never here.

Several processes (daphne, Celery's prefork children) each keep their own values; with
``PROMETHEUS_MULTIPROC_DIR`` set (settings sets it by default) prometheus-client writes
them to files there and ``/metrics`` adds them up. The folder must be emptied when the
processes start (``runparley`` does; docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import os
import time

from prometheus_client import Counter, Gauge, Histogram, multiprocess

MESSAGES = Counter(
    "parley_messages", "Messages stored, by kind (text, bot, system, event).", ["kind"]
)
SEND_LATENCY = Histogram(
    "parley_message_send_seconds",
    "From a message.send frame being handled to its message.accepted answer.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DELIVERY_LATENCY = Histogram(
    "parley_message_delivery_seconds",
    "From a message's insert (its created_at) to its message.new leaving for a socket.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SOCKETS = Gauge(
    "parley_sockets",
    "Open sockets, by endpoint (widget, agent, supervisor).",
    ["endpoint"],
    multiprocess_mode="livesum",
)
OFFERS = Counter(
    "parley_offers",
    "Offers to agents, by outcome (offered, accepted, declined, expired, revoked).",
    ["outcome"],
)
TASK_FAILURES = Counter("parley_celery_task_failures", "Celery tasks that raised.", ["task"])
CONNECTS_LATE = Counter(
    "parley_ws_connects_late",
    "Socket connects refused unrun: they waited for a connect slot past the handshake's "
    "deadline (chat/connect_gate.py).",
    ["endpoint"],
)
RATE_LIMITED = Counter(
    "parley_rate_limited", "Frames or requests refused by a rate limit.", ["endpoint"]
)
WEBHOOK_DELIVERIES = Counter(
    "parley_webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered, retry (failed, tried again later), failed (gave up).",
    ["outcome"],
)


def webhook_delivery(outcome: str) -> None:
    """Count a webhook delivery attempt (the integrations' code calls this)."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


def message_delivered(created_at: str | None) -> None:
    """A message.new handed to a socket: how long since the message was stored (the
    processes share a clock; a parse and an increment, no I/O)."""
    if not created_at:
        return
    try:
        stored = dt.datetime.fromisoformat(created_at).timestamp()
    except ValueError:
        return
    DELIVERY_LATENCY.observe(max(0.0, time.time() - stored))


def frame_published(frame_type: str) -> None:
    """Offers are counted where every one of their frames passes (chat.realtime), so offers
    made by the server-side SQL functions are counted as well as Python's."""
    if frame_type.startswith("reservation."):
        OFFERS.labels(outcome=frame_type.partition(".")[2]).inc()


def process_exited() -> None:
    """A live gauge of a process that exited must stop counting (its sockets are gone)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())
