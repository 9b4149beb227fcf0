"""A queue's live figures for the REST API and integrations: who waits, who serves, how
fast, and how long the next customer should wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Min, Q

from routing.models import Queue, QueueEntry
from routing.selectors import eta_seconds, service_rate, staffing, waiting_limit

State = QueueEntry.State


def queue_figures(*, queue: Queue, now: dt.datetime) -> dict[str, Any]:
    open_entries = QueueEntry.objects.filter(queue_id=queue.pk, closed_at__isnull=True)
    row = open_entries.aggregate(
        waiting=Count("id", filter=Q(state=State.WAITING, mode=QueueEntry.Mode.LIVE)),
        offline=Count("id", filter=Q(state=State.WAITING, mode=QueueEntry.Mode.OFFLINE)),
        offered=Count("id", filter=Q(state=State.OFFERED)),
        assigned=Count("id", filter=Q(state=State.ASSIGNED)),
        oldest=Min("enqueued_at", filter=Q(state__in=[State.WAITING, State.OFFERED])),
    )
    staff = staffing(queue=queue, skills=queue.required_skills, language=queue.language, now=now)
    rate = service_rate(queue=queue, now=now)
    eta = eta_seconds(position=row["waiting"] + row["offered"] + 1, rate=rate)
    return {
        "waiting": row["waiting"],
        "waiting_offline": row["offline"],
        "offered": row["offered"],
        "assigned": row["assigned"],
        "oldest_wait_seconds": round((now - row["oldest"]).total_seconds(), 1)
        if row["oldest"]
        else None,
        "agents": {
            "subscribed": staff.subscribed,
            "online": staff.online,
            "live": staff.live,
            "free": staff.free,
            "capacity": staff.capacity,
        },
        "served_per_minute": round(rate * 60, 2),
        "estimated_wait_seconds": round(eta, 1) if eta is not None else None,
        "waiting_limit": waiting_limit(queue=queue, now=now, staff=staff),
        "sla_seconds": queue.sla_seconds,
    }
