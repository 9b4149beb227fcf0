"""The checks behind /healthz and the status page (django-health-check): the database,
Redis, the Celery worker and beat (their heartbeats), migrations applied, and disk.

Each check raises ``ServiceUnavailable`` (down) or ``ServiceWarning`` (degraded). The list
is built per request from the settings, so a test can point Redis at a closed port.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Database
from health_check.contrib.psutil import Disk
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from redis.asyncio import Redis as RedisClient

from chat.tasks import WORKER_HEARTBEAT_KEY
from config import redis_conn
from supervision.signals import BEAT_HEARTBEAT_KEY

State = Literal["up", "degraded", "down"]
logger = logging.getLogger(__name__)
# This process's last answer, to log a change once: a balancer probes every few seconds,
# and a line per probe (Django's "Service Unavailable" for each 503) buries the outage's
# start and end in the log.
_last_state: State | None = None


@dataclasses.dataclass
class DatabaseCheck(Database):
    """The library's check, giving its connection back: it runs on an executor thread that
    no request cycle closes, and would keep a pooled connection checked out."""

    def run(self) -> None:
        try:
            super().run()
        finally:
            connection.close()


@dataclasses.dataclass
class Heartbeat(HealthCheck):
    """A heartbeat kept in the cache (Redis) by another process."""

    key: str = dataclasses.field(default="", repr=False)
    what: str = "worker"

    def run(self) -> None:
        try:
            beat = cache.get(self.key)
        except Exception as exc:
            raise ServiceUnavailable("cannot read the heartbeat: Redis unreachable") from exc
        if beat is None:
            raise ServiceUnavailable(f"no {self.what} heartbeat")
        age = time.time() - float(beat)
        if age > settings.SUPERVISION["HEARTBEAT_STALE_AFTER"]:
            raise ServiceUnavailable(f"{self.what} heartbeat is {age:.0f} s old")


# The migrations this process's code needs, read from disk once (the first probe, seconds
# after start): read at every probe, a deploy that put new code on disk before `migrate`
# made every process still running the old code say "down", and a balancer took them all
# out (an outside walkthrough). It also spares re-importing every migration each second.
_needed: dict[tuple[str, str], tuple[tuple[str, str], ...]] | None = None


def _needed_migrations() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    global _needed
    if _needed is None:
        graph = MigrationLoader(None, ignore_no_migrations=True).graph
        _needed = {key: tuple(graph.nodes[key].replaces or ()) for key in graph.nodes}
    return _needed


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration this process's code needs is applied (a process started on a
    database that was not migrated is red, not half-broken)."""

    def run(self) -> None:
        try:
            applied = set(MigrationRecorder(connection).applied_migrations())
        finally:
            connection.close()
        pending = [
            key
            for key, replaces in _needed_migrations().items()
            # A squashed migration counts as applied when everything it replaces is.
            if key not in applied and not (replaces and set(replaces) <= applied)
        ]
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migrations not applied")


def _redis_client() -> RedisClient:
    return redis_conn.async_client(socket_connect_timeout=2, socket_timeout=2)


# The component names the status page and /healthz's detail use, in order.
COMPONENTS = ("database", "redis", "worker", "beat", "migrations", "disk")


def checks() -> dict[str, HealthCheck]:
    return {
        "database": DatabaseCheck(),
        "redis": Redis(client_factory=_redis_client),
        "worker": Heartbeat(key=WORKER_HEARTBEAT_KEY, what="worker"),
        "beat": Heartbeat(key=BEAT_HEARTBEAT_KEY, what="beat"),
        "migrations": Migrations(),
        "disk": Disk(
            path=settings.DATA_DIR,
            max_disk_usage_percent=settings.SUPERVISION["DISK_MAX_USAGE_PERCENT"],
        ),
    }


def state_of(result: HealthCheckResult) -> State:
    if result.error is None:
        return "up"
    return "degraded" if isinstance(result.error, ServiceWarning) else "down"


async def run_checks() -> dict[str, dict]:
    """Every check at once: ``{name: {"state", "message", "seconds"}}``."""
    named = checks()
    results = await asyncio.gather(*(check.get_result() for check in named.values()))
    return {
        name: {
            "state": state_of(result),
            "message": "" if result.error is None else str(result.error),
            "seconds": round(result.time_taken, 4),
        }
        for name, result in zip(named, results, strict=True)
    }


# Without these this process cannot serve a request: a balancer should take it out.
# A dead worker or beat (or a full disk) slows the pipeline, timers and reports but not the
# chat itself; taking every web process out for it would turn that into a full outage.
CRITICAL = frozenset({"database", "redis", "migrations"})


def overall(components: dict[str, dict]) -> State:
    """``down`` when a critical component is down, ``degraded`` when any other is not up."""
    if any(components[name]["state"] == "down" for name in CRITICAL if name in components):
        return "down"
    if any(c["state"] != "up" for c in components.values()):
        return "degraded"
    return "up"


def note_state(state: State, components: dict[str, dict]) -> None:
    """Log when this process's health changes (and its first answer when it is not up),
    with the components that are not up and why."""
    global _last_state
    before, _last_state = _last_state, state
    if state == before or (before is None and state == "up"):
        return
    failing = "; ".join(
        f"{name}: {c['state']} ({c['message']})" if c["message"] else f"{name}: {c['state']}"
        for name, c in components.items()
        if c["state"] != "up"
    )
    level = logging.INFO if state == "up" else logging.WARNING
    logger.log(level, "health %s -> %s%s", before or "start", state,
               f": {failing}" if failing else "")  # fmt: skip
