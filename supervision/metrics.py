"""/metrics: prometheus-client's exposition of every process's values (multiprocess mode)
plus the gauges read from the database and Redis at scrape time (queue depth, the pipeline
backlog, heartbeat ages), so the hot path never pays for them."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from chat.models import Message
from chat.tasks import WORKER_HEARTBEAT_KEY
from routing.models import QueueEntry
from supervision.signals import BEAT_HEARTBEAT_KEY


class FloorCollector(Collector):
    """Read at scrape time: a few indexed counts, no scan."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "parley_queue_depth", "Conversations waiting in each queue.", labels=["queue"]
        )
        rows = (
            QueueEntry.objects.filter(state__in=QueueEntry.OPEN_STATES)
            .values("queue__name")
            .annotate(n=Count("id"))
        )
        for row in rows:
            depth.add_metric([row["queue__name"]], row["n"])
        yield depth
        backlog = GaugeMetricFamily(
            "parley_pipeline_backlog", "Messages whose language pipeline has not run yet."
        )
        backlog.add_metric([], Message.objects.filter(pipeline=Message.Pipeline.PENDING).count())
        yield backlog
        ages = GaugeMetricFamily(
            "parley_heartbeat_age_seconds",
            "Seconds since the worker's and beat's last heartbeat (absent: none yet).",
            labels=["process"],
        )
        now = time.time()
        for name, key in (("worker", WORKER_HEARTBEAT_KEY), ("beat", BEAT_HEARTBEAT_KEY)):
            try:
                beat = cache.get(key)
            except Exception:  # Redis down: no age to give
                beat = None
            if beat is not None:
                ages.add_metric([name], round(now - float(beat), 3))
        yield ages


def registry() -> CollectorRegistry:
    """Every process's values when in multiprocess mode, else this process's."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = REGISTRY
    combined = CollectorRegistry()
    combined.register(_Merged(reg))
    combined.register(FloorCollector())
    return combined


class _Merged(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def exposition() -> bytes:
    return generate_latest(registry())


def scrape_allowed(*, authorization: str, peer: str | None) -> bool:
    """A bearer token when METRICS_TOKEN is set, else the allow-list (the socket's peer
    address: a header can be forged, so none is read)."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
    return peer is not None and peer in settings.METRICS_ALLOWED_IPS
