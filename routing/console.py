"""What an agent's console reads of routing: its open offers, with the time left on each,
and its presence (in the hello and every pong)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from agents.models import AgentPresence
from agents.services import presence_payload
from routing.models import Reservation
from routing.payloads import reservation_payload


def agent_open_offers(*, user_id: int) -> list[Reservation]:
    return list(
        Reservation.objects.filter(agent_id=user_id, state=Reservation.State.OFFERED)
        .select_related(
            "queue",
            "entry",
            "conversation__customer",
            "conversation__queue",
            "conversation__assignee",
        )
        .order_by("offered_at")
    )


def agent_console_offers(*, user_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The agent's open offers as the console shows them, with the time left on each."""
    now = now or timezone.now()
    return [
        reservation_payload(r, now=now) | {"note": r.entry.note}
        for r in agent_open_offers(user_id=user_id)
    ]


def agent_console_snapshot(*, user, now: dt.datetime | None = None) -> dict[str, Any]:
    """What a (re)connecting console gets in hello beside its conversations: its open
    offers, with the time left on each, and its presence."""
    now = now or timezone.now()
    presence = AgentPresence.objects.filter(user_id=user.pk).first()
    return {
        "offers": agent_console_offers(user_id=user.pk, now=now),
        "presence": presence_payload(presence, now=now) if presence else None,
    }
