"""Console heartbeats, written in batches: a console's ping notes the time in memory and
one flush per process (every HEARTBEAT_FLUSH_SECONDS) stores all of them, a few statements
whatever the number of consoles. The timeout (AGENT_HEARTBEAT_TIMEOUT, a minute) dwarfs
the delay, so routing sees the same live agents; a ping itself writes nothing.

A console that the sweeper had given up on (its rows were gone or marked lost) is handed
to ``on_lost`` after the flush, which reconnects it (actions.agents registers that: agents
sits below routing, and a reconnect looks for work)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from agents.models import AgentConnection, AgentPresence
from chat.batch import BatchWriter

logger = logging.getLogger(__name__)

Lost = Callable[[int, str, dt.datetime], None]


class HeartbeatBuffer(BatchWriter):
    """Console pings by channel: ``note(user_id=…, channel_name=…)``; ``on_lost`` gets the
    consoles that the sweeper had given up on (actions.agents sets it)."""

    def __init__(self) -> None:
        super().__init__(
            "parley-heartbeats", self._store, lambda: settings.PARLEY["HEARTBEAT_FLUSH_SECONDS"]
        )
        self.on_lost: Lost | None = None
        self._ended: dict[str, float] = {}  # channel -> when its socket closed (monotonic)

    def ended(self, channel_name: str) -> None:
        """A console socket closed. Its heartbeat noted just before must not bring it back:
        the close deletes its connection row, so the flush would find it "given up on" and
        reconnect it (on_lost), and the agent stayed live, and offered chats, until the
        heartbeat timeout. The pending note goes, and a flush that already took it skips it
        (channel names are never reused)."""
        now = time.monotonic()
        with self._lock:
            self._pending.pop(channel_name, None)
            self._ended[channel_name] = now
            if len(self._ended) > 10_000:  # bounded: a flush takes seconds, not minutes
                self._ended = {c: t for c, t in self._ended.items() if now - t < 600}

    def note(self, *, user_id: int, channel_name: str, now: dt.datetime | None = None) -> None:
        super().note(channel_name, (user_id, now or timezone.now()))

    def flush(self) -> list[tuple[int, str, dt.datetime]]:
        """Store the noted heartbeats; returns (and hands to on_lost) the consoles that the
        sweeper had given up on."""
        return super().flush() or []

    def _store(
        self, pending: dict[str, tuple[int, dt.datetime]]
    ) -> list[tuple[int, str, dt.datetime]]:
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
        with self._lock:
            ended = set(self._ended)
        lost = [
            (user_id, channel, at)
            for channel, (user_id, at) in pending.items()
            if (channel not in known or user_id not in live) and channel not in ended
        ]
        for user_id, channel, at in lost:
            if self.on_lost is not None:
                try:
                    self.on_lost(user_id, channel, at)
                except Exception:
                    logger.exception("reconnecting console %s failed", channel)
        return lost


buffer = HeartbeatBuffer()
