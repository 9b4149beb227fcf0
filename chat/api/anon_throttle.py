"""The anonymous callers' rate limit (DRF's AnonRateThrottle: per client address, counted
in Django's cache, which is Redis) made to survive a Redis outage.

DRF's throttle raised the cache's connection error, so while Redis was down every visitor
session and token refresh got a 500 (issue 15; bench/chaos.py counted three in a 3-second
restart). Here an unreachable cache fails open for ``THROTTLE_FAIL_OPEN_SECONDS``: callers
pass uncounted, as the quotas do (chat/quotas.py). Past that bound the same rate is counted
per process in local memory, so a long outage neither locks visitors out nor leaves the API
unlimited. Redis is tried again at most every ``QUOTA_PROBE_SECONDS``, so no request waits on
a dead server's timeouts in between."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import AnonRateThrottle

logger = logging.getLogger(__name__)

_local = LocMemCache("parley-anon-throttle", {"OPTIONS": {"MAX_ENTRIES": 50_000}})


class _Outage:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since: float | None = None
        self.next_try = 0.0

    def failed(self, now: float, exc: Exception) -> None:
        with self.lock:
            self.next_try = now + settings.PARLEY["QUOTA_PROBE_SECONDS"]
            if self.since is None:
                self.since = now
                logger.warning(
                    "throttle cache unreachable (%s): anonymous callers pass uncounted for %s s, "
                    "then are counted per process",
                    exc,
                    settings.PARLEY["THROTTLE_FAIL_OPEN_SECONDS"],
                )

    def recovered(self) -> None:
        if self.since is not None:
            with self.lock:
                if self.since is not None:
                    logger.warning(
                        "throttle cache reachable again after %.0f s", time.monotonic() - self.since
                    )
                self.since = None


outage = _Outage()


class AnonThrottle(AnonRateThrottle):
    def wait(self) -> float:
        # DRF gives no wait (so no Retry-After) once the window holds more requests than
        # the rate (a lowered rate, several processes): the oldest one's expiry is it.
        waited = super().wait()
        if waited is None and getattr(self, "history", None):
            waited = self.duration - (self.now - self.history[-1])
        return max(1.0, waited if waited is not None else float(self.duration))

    def allow_request(self, request, view) -> bool:
        now = time.monotonic()
        if outage.since is None or now >= outage.next_try:
            try:
                allowed = super().allow_request(request, view)
            except Exception as exc:  # the cache backend's own errors (redis-py's, pooled)
                outage.failed(now, exc)
            else:
                outage.recovered()
                return allowed
        if now - (outage.since or now) <= settings.PARLEY["THROTTLE_FAIL_OPEN_SECONDS"]:
            return True
        self.cache = _local
        return super().allow_request(request, view)
