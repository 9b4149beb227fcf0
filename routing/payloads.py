"""Frame payloads of routing, built at publish time (the socket tier never queries)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from chat.payloads import conversation_payload
from routing.models import Reservation


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def reservation_payload(
    reservation: Reservation,
    *,
    conversation: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """An offer as the console sees it. ``conversation`` is a ready conversation payload
    (the router already built one for conversation.updated); else it is built here."""
    if conversation is None:
        conversation = conversation_payload(reservation.conversation)
    remaining = 0.0  # an ended offer has no time left
    if reservation.state == Reservation.State.OFFERED:
        left = reservation.expires_at - (now or timezone.now())
        remaining = max(0.0, round(left.total_seconds(), 1))
    return {
        "id": reservation.pk,
        "state": reservation.state,
        "conversation": conversation,
        "queue": {"id": reservation.queue_id, "name": reservation.queue.name},
        "attempt": reservation.attempt,
        "sticky": reservation.sticky,
        "offered_at": _ts(reservation.offered_at),
        "expires_at": _ts(reservation.expires_at),
        "expires_in": remaining,
        "decided_at": _ts(reservation.decided_at),
        "reason": reservation.end_reason,
        # The transfer note: the offer and the console's snapshot carry it (they read the
        # entry); the frames that end an offer need none, and say so with "".
        "note": "",
    }
