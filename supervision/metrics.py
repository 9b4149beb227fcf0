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
        for name, age in heartbeat_ages().items():
            if age is not None:
                ages.add_metric([name], age)
        yield ages


def registry() -> CollectorRegistry:
    """Every process's values when in multiprocess mode, else this process's."""
    combined = CollectorRegistry()
    combined.register(_Merged(_process_registry()))
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


def _process_registry() -> CollectorRegistry:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    return REGISTRY


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of a histogram's cumulative ``(upper bound, count)`` buckets,
    interpolated within its bucket as Prometheus' histogram_quantile does."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def live_figures() -> dict:
    """What the floor dashboard shows from the metrics, over every process: the send
    latency's and the delivery latency's p50 and p99 (since the processes started,
    interpolated in the histogram's buckets) and the open sockets per endpoint."""
    histograms: dict[str, dict[float, float]] = {
        "parley_message_send_seconds": {},
        "parley_message_delivery_seconds": {},
    }
    sockets: dict[str, float] = {}
    for family in _process_registry().collect():
        if family.name in histograms:
            buckets = histograms[family.name]
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0) + sample.value
        elif family.name == "parley_sockets":
            for sample in family.samples:
                endpoint = sample.labels.get("endpoint", "")
                sockets[endpoint] = sockets.get(endpoint, 0) + sample.value
    figures: dict = {"sockets": {k: int(v) for k, v in sorted(sockets.items())}}
    for prefix, name in (("send", "parley_message_send_seconds"),
                         ("delivery", "parley_message_delivery_seconds")):  # fmt: skip
        ordered = sorted(histograms[name].items())
        for q in (50, 99):
            value = quantile(ordered, q / 100)
            figures[f"{prefix}_p{q}_ms"] = None if value is None else round(value * 1000, 1)
        figures[f"{prefix}_count"] = int(ordered[-1][1]) if ordered else 0
    return figures


def heartbeat_ages() -> dict[str, float | None]:
    now = time.time()
    ages: dict[str, float | None] = {}
    for name, key in (("worker", WORKER_HEARTBEAT_KEY), ("beat", BEAT_HEARTBEAT_KEY)):
        try:
            beat = cache.get(key)
        except Exception:  # Redis down
            beat = None
        ages[name] = None if beat is None else round(now - float(beat), 1)
    return ages
