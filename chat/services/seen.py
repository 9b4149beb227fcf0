"""When a customer's widget was last open, written in batches: a widget ping or connect
only notes the time in memory, and one statement per process stores every note of the
last CUSTOMER_SEEN_FLUSH_SECONDS (chat.batch). An idle socket then costs the database
nothing; the "customer left" timers count in minutes (CUSTOMER_LEFT_AFTER), so seconds of
delay do not matter, and a process that dies loses at most that much of a sign of life."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from chat.batch import BatchWriter
from chat.models import Customer


def _store(pending: dict[int, dt.datetime]) -> int:
    # One time for the whole batch (the latest noted): the timers count in minutes, and a
    # per-row CASE over 10,000 customers took the GIL from the event loop for seconds while
    # Django compiled it (pong p99 2 s in bench/idle_sockets.py).
    seen_at = max(pending.values())
    ids = sorted(pending)
    for start in range(0, len(ids), 5000):
        Customer.objects.filter(pk__in=ids[start : start + 5000]).update(last_seen_at=seen_at)
    return len(ids)


_buffer = BatchWriter("parley-seen", _store, lambda: settings.PARLEY["CUSTOMER_SEEN_FLUSH_SECONDS"])


def customer_seen_soon(*, customer_id: int, now: dt.datetime | None = None) -> None:
    """Note that the customer's widget is open now (stored within seconds)."""
    _buffer.note(customer_id, now or timezone.now())


def customer_seen_flush() -> int:
    """Store the notes now (tests, and a process that is about to exit)."""
    return _buffer.flush() or 0
