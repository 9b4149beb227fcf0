"""Console heartbeats, written in batches: a console's ping notes the time in memory and
one flush per process (every HEARTBEAT_FLUSH_SECONDS) stores all of them, a few statements
whatever the number of consoles. The timeout (AGENT_HEARTBEAT_TIMEOUT, a minute) dwarfs
the delay, so routing sees the same live agents; a ping itself writes nothing.

A console that the sweeper had given up on (its rows were gone or marked lost) is handed
to ``on_lost`` after the flush, which reconnects it (actions.agents registers that: agents
sits below routing, and a reconnect looks for work)."""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from agents.models import AgentConnection, AgentPresence

logger = logging.getLogger(__name__)

Lost = Callable[[int, str, dt.datetime], None]


class HeartbeatBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, dt.datetime]] = {}  # channel -> (user, time)
        self._pid = 0
        self.on_lost: Lost | None = None

    def note(self, *, user_id: int, channel_name: str, now: dt.datetime | None = None) -> None:
        with self._lock:
            self._pending[channel_name] = (user_id, now or timezone.now())
            if self._pid != os.getpid():  # first note in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="parley-heartbeats", daemon=True).start()

    def discard(self) -> None:
        with self._lock:
            self._pending = {}

    def flush(self) -> list[tuple[int, str, dt.datetime]]:
        """Store the noted heartbeats; returns (and hands to on_lost) the consoles that the
        sweeper had given up on."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return []
        timeout = dt.timedelta(seconds=settings.PARLEY["AGENT_HEARTBEAT_TIMEOUT"])
        channels = list(pending)
        known = set(
            AgentConnection.objects.filter(channel_name__in=channels).values_list(
                "channel_name", flat=True
            )
        )
        if known:
            AgentConnection.objects.filter(channel_name__in=known).update(
                last_heartbeat_at=Case(
                    *(When(channel_name=c, then=Value(pending[c][1])) for c in known),
                    output_field=DateTimeField(),
                )
            )
        latest: dict[int, dt.datetime] = {}
        for user_id, at in pending.values():
            latest[user_id] = max(at, latest.get(user_id, at))
        live = set(
            AgentPresence.objects.filter(
                user_id__in=latest, console_lost_at__isnull=True
            ).values_list("user_id", flat=True)
        )
        if live:
            AgentPresence.objects.filter(user_id__in=live, console_lost_at__isnull=True).update(
                live_until=Case(
                    *(When(user_id=u, then=Value(latest[u] + timeout)) for u in live),
                    output_field=DateTimeField(),
                ),
                last_heartbeat_at=Case(
                    *(When(user_id=u, then=Value(latest[u])) for u in live),
                    output_field=DateTimeField(),
                ),
            )
        lost = [
            (user_id, channel, at)
            for channel, (user_id, at) in pending.items()
            if channel not in known or user_id not in live
        ]
        for user_id, channel, at in lost:
            if self.on_lost is not None:
                try:
                    self.on_lost(user_id, channel, at)
                except Exception:
                    logger.exception("reconnecting console %s failed", channel)
        return lost

    def _run(self) -> None:
        while True:
            threading.Event().wait(settings.PARLEY["HEARTBEAT_FLUSH_SECONDS"])
            try:
                close_old_connections()
                self.flush()
            except Exception:  # the next round stores what it notes anew
                logger.warning("storing console heartbeats failed", exc_info=True)
            finally:
                connection.close()  # back to the pool: this thread sleeps for seconds


buffer = HeartbeatBuffer()


@atexit.register
def _flush_at_exit() -> None:
    try:
        buffer.flush()
    except Exception:  # the database may be gone already
        logger.debug("heartbeats not stored at exit", exc_info=True)
