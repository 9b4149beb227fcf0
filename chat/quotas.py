"""Quotas for automated callers (API keys, webhook endpoints, rules; DESIGN.md §1, seed 004).

Each owner (a kind and an id: ``("api_key", 7)``) has limits: a rate (``600/min``) and daily
quotas counted in any measure (requests, bytes, milliseconds). Each limit is a sliding
window of ``buckets`` sub-counters in one Redis hash, so a day's quota costs at most 60 hash
fields however many requests it counts (a log of every request would not: a sync of two
million customers is millions of entries). A window slides by one bucket: 1/60 of it.

``charge`` checks every limit of an owner and counts the usage in one Lua script, so
concurrent callers (processes, threads) cannot both pass the last unit, and a call refused
by one limit is counted by none (all or nothing). Time is Redis's clock, the same for every
process.

When Redis cannot be reached, callers are let through uncounted (fail open) and the outage
is logged. A bounded caller (``charge``'s default: API keys, webhook endpoints, rules) is let
through for ``QUOTA_FAIL_OPEN_SECONDS`` of the outage, then refused until Redis answers
again: an outage long enough to matter must not turn into unlimited use. An unbounded one
(``bounded=False``: visitors and agents, whose sockets and tokens bound them elsewhere) is let
through however long it lasts. During an outage Redis is tried at most once per
``QUOTA_PROBE_SECONDS`` by a call, and a thread of the process pings it at that interval, so
no caller waits on a dead server's timeouts and the outage ends when Redis answers, whether
or not a call came meanwhile: two outages with Redis up between them are two outages, each
with its own bound. The outage state is per process and guarded by a lock (daphne runs sync
code on threads); ``store.clock`` is the time it is measured by (tests set it).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import redis
from django.conf import settings

from config import redis_conn

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Limit:
    """At most ``amount`` units of ``measure`` in any ``window`` seconds."""

    name: str
    amount: int
    window: float
    measure: str = "requests"
    buckets: int = 60

    @classmethod
    def parse(cls, name: str, spec: str, measure: str = "requests") -> Limit | None:
        """``"600/min"``, ``"30/3s"``, ``"100000/day"``; empty or ``0/...`` means no limit."""
        if not spec or not spec.strip():
            return None
        match = _SPEC.match(spec.lower())
        if not match or match.group(3) not in _PERIODS:
            raise ValueError(f"{spec!r} is not a rate such as 600/min, 30/3s or 100000/day")
        amount = int(match.group(1))
        if amount == 0:
            return None
        window = int(match.group(2) or 1) * _PERIODS[match.group(3)]
        return cls(name=name, amount=amount, window=float(window), measure=measure)

    @property
    def bucket_ms(self) -> int:
        return max(1, math.ceil(self.window * 1000 / self.buckets))


UNAVAILABLE = Limit(name="unavailable", amount=0, window=0)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the refused call would pass
    limit: Limit | None = None  # the limit that refused it (the longest wait)
    degraded: bool = False  # Redis unreachable: nothing was counted
    used: dict[str, int] = field(default_factory=dict)  # per limit, before this call

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


# KEYS: one hash per limit. ARGV[1]: "1" to count even over the limit (usage known only
# afterwards, such as time consumed); then per limit: amount, window ms, bucket ms, cost.
# A call is refused when a limit's window would hold more than its amount; a call that costs
# nothing in a measure is still refused once that measure is used up. The wait is until
# enough of the oldest buckets leave the window.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local force = ARGV[1] == '1'
local worst, worst_retry = 0, 0
local used, current = {}, {}
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 4
  local amount = tonumber(ARGV[base + 1])
  local window = tonumber(ARGV[base + 2])
  local bucket = tonumber(ARGV[base + 3])
  local cost = tonumber(ARGV[base + 4])
  local span = math.floor(window / bucket)
  current[i] = math.floor(now / bucket)
  local oldest = current[i] - span + 1
  local flat = redis.call('HGETALL', KEYS[i])
  local total, live = 0, {}
  for j = 1, #flat, 2 do
    local b, c = tonumber(flat[j]), tonumber(flat[j + 1])
    if b < oldest then
      redis.call('HDEL', KEYS[i], flat[j])
    else
      total = total + c
      live[#live + 1] = {b, c}
    end
  end
  used[i] = total
  local need = total + math.max(cost, 1) - amount
  if need > 0 then
    local retry = window
    if cost <= amount then
      table.sort(live, function(x, y) return x[1] < y[1] end)
      for _, e in ipairs(live) do
        need = need - e[2]
        if need <= 0 then
          retry = (e[1] + span) * bucket - now
          break
        end
      end
    end
    if retry < 1 then retry = 1 end
    if retry > worst_retry then
      worst, worst_retry = i, retry
    end
  end
end
if worst == 0 or force then
  for i = 1, #KEYS do
    local base = 1 + (i - 1) * 4
    local cost = tonumber(ARGV[base + 4])
    if cost > 0 then
      redis.call('HINCRBY', KEYS[i], current[i], cost)
      redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[base + 2]) + tonumber(ARGV[base + 3]))
    end
  end
end
local out = {worst, worst_retry}
for i = 1, #KEYS do out[#out + 1] = used[i] end
return out
"""


class _Store:
    """One Redis client per URL, and the outage state of this process."""

    # The watcher never pings more often than this, whatever QUOTA_PROBE_SECONDS says.
    MIN_PING_INTERVAL = 0.05

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[redis.Redis, object]] = {}
        self.down_since: float | None = None
        self._next_probe = 0.0
        self._refusing_logged = False
        self._watcher: tuple[threading.Thread, threading.Event] | None = None

    def _entry(self) -> tuple[redis.Redis, object]:
        url = redis_conn.identity()
        with self._lock:
            if url not in self._clients:
                timeout = settings.PARLEY["QUOTA_REDIS_TIMEOUT"]
                client = redis_conn.sync_client(
                    socket_timeout=timeout, socket_connect_timeout=timeout
                )
                self._clients[url] = (client, client.register_script(_LUA))
            return self._clients[url]

    def script(self):
        return self._entry()[1]

    def may_try(self, now: float) -> bool:
        return self.down_since is None or now >= self._next_probe

    def failed(self, now: float, exc: Exception) -> None:
        with self._lock:
            self._next_probe = now + settings.PARLEY["QUOTA_PROBE_SECONDS"]
            if self.down_since is None:
                self.down_since = now
                log.warning(
                    "quota store unreachable (%s): callers pass uncounted, bounded ones "
                    "(API keys, webhooks, rules) for %s s",
                    exc,
                    settings.PARLEY["QUOTA_FAIL_OPEN_SECONDS"],
                )
            if self._watcher is None or not self._watcher[0].is_alive():
                stop = threading.Event()
                thread = threading.Thread(
                    target=self._watch, args=(stop,), name="quota-store-watch", daemon=True
                )
                self._watcher = (thread, stop)
                thread.start()

    def recovered(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                log.warning(
                    "quota store reachable again after %.0f s", self.clock() - self.down_since
                )
            self.down_since = None
            self._refusing_logged = False
            if self._watcher is not None:
                self._watcher[1].set()
                self._watcher = None

    def _watch(self, stop: threading.Event) -> None:
        """While the store is unreachable, ping it every QUOTA_PROBE_SECONDS so that the
        outage ends when it answers, even if no call comes to see it."""
        interval = max(self.MIN_PING_INTERVAL, settings.PARLEY["QUOTA_PROBE_SECONDS"])
        while not stop.wait(interval):
            try:
                self._entry()[0].ping()
            except redis.RedisError as exc:
                if not stop.is_set():
                    self.failed(self.clock(), exc)
                continue
            if not stop.is_set():
                self.recovered()
            return

    def degraded(self, now: float, *, bounded: bool = True) -> Decision:
        since = self.down_since  # read once: another thread may end the outage meanwhile
        bound = settings.PARLEY["QUOTA_FAIL_OPEN_SECONDS"]
        if bounded and since is not None and now - since > bound:
            if not self._refusing_logged:
                self._refusing_logged = True
                log.error("quota store unreachable for over %s s: refusing bounded callers", bound)
            wait = max(1.0, self._next_probe - now)
            return Decision(allowed=False, retry_after=wait, limit=UNAVAILABLE, degraded=True)
        return Decision(allowed=True, degraded=True)

    def _forget_outage(self) -> None:
        if self._watcher is not None:
            self._watcher[1].set()
        self._watcher = None
        self.down_since = None
        self._next_probe = 0.0
        self._refusing_logged = False

    def reset(self) -> None:
        """Forget the outage and the clients (tests, and settings that changed)."""
        with self._lock:
            watcher = self._watcher
            for client, _ in self._clients.values():
                client.close()
            self._clients.clear()
            self._forget_outage()
        if watcher is not None and watcher[0] is not threading.current_thread():
            watcher[0].join(timeout=5)

    def after_fork(self) -> None:
        """A forked child (a Celery worker's) starts with no outage and no watcher: the
        parent's thread is not in it, and its lock may have been held at the fork."""
        self._lock = threading.Lock()
        self._forget_outage()


store = _Store()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=store.after_fork)


def key(kind: str, owner: object, limit: Limit) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:quota:{kind}:{owner}:{limit.name}"


def charge(
    kind: str,
    owner: object,
    limits: Sequence[Limit | None],
    usage: Mapping[str, int] | None = None,
    *,
    force: bool = False,
    bounded: bool = True,
) -> Decision:
    """Count ``usage`` (``{"requests": 1, "bytes": 512}``; default one request) against
    every limit, or refuse the call and count nothing. ``force`` counts it even over a limit
    (for usage known only after the fact) and still reports the limit it went over.
    ``bounded=False`` lets the call through uncounted however long Redis is unreachable
    (callers limited elsewhere); otherwise only for ``QUOTA_FAIL_OPEN_SECONDS``."""
    active = [limit for limit in limits if limit is not None]
    if not active:
        return Decision(allowed=True)
    usage = {"requests": 1} if usage is None else usage
    now = store.clock()
    if not store.may_try(now):
        return store.degraded(now, bounded=bounded)
    args: list[object] = ["1" if force else "0"]
    for limit in active:
        cost = int(usage.get(limit.measure, 0))
        args += [limit.amount, int(limit.window * 1000), limit.bucket_ms, max(0, cost)]
    try:
        worst, retry_ms, *used = store.script()(
            keys=[key(kind, owner, x) for x in active], args=args
        )
    except redis.RedisError as exc:
        store.failed(now, exc)
        return store.degraded(now, bounded=bounded)
    store.recovered()
    counts = {limit.name: int(n) for limit, n in zip(active, used, strict=True)}
    if worst == 0:
        return Decision(allowed=True, used=counts)
    return Decision(
        allowed=False, retry_after=int(retry_ms) / 1000, limit=active[worst - 1], used=counts
    )


def reset(kind: str, owner: object, limits: Sequence[Limit | None]) -> None:
    """Forget an owner's counts (an operator raising a quota mid-day, and tests)."""
    names = [key(kind, owner, limit) for limit in limits if limit is not None]
    if names:
        store.script().registered_client.delete(*names)
