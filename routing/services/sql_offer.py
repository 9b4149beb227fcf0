"""Writing an offer in plain SQL: the reservation, the entry, the conversation's status and
the timeline events (routing.services.sql says why the hot path is not the ORM)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection
from django.utils import timezone

from routing.models import QueueEntry
from routing.services.sql import _fetch, _ts


def reservation_insert(
    *, entry_id: int, conversation_id: int, queue_id: int, agent_id: int, attempt: int,
    sticky: bool, offered_at: dt.datetime, expires_at: dt.datetime,
) -> int:  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO routing_reservation (entry_id, conversation_id, queue_id, agent_id, "
            "state, attempt, sticky, offered_at, expires_at, decided_at, end_reason) "
            "VALUES (%s, %s, %s, %s, 'offered', %s, %s, %s, %s, NULL, '') RETURNING id",
            [entry_id, conversation_id, queue_id, agent_id, attempt, sticky, _ts(offered_at),
             _ts(expires_at)],
        )  # fmt: skip
        return cursor.fetchone()[0]


def offer_write(
    *,
    entry: QueueEntry,
    conversation_id: int,
    agent_id: int,
    sticky: bool,
    now: dt.datetime,
    expires_at: dt.datetime,
    from_status: str,
    events: list[dict[str, Any]],
) -> int:
    """Write an offer: the reservation, the entry, the conversation's status and the
    timeline events (each event's data gets the reservation's id). One statement on
    PostgreSQL; four elsewhere. Returns the reservation's id."""
    if connection.vendor != "postgresql":
        reservation_id = reservation_insert(
            entry_id=entry.pk, conversation_id=conversation_id, queue_id=entry.queue_id,
            agent_id=agent_id, attempt=entry.offers, sticky=sticky, offered_at=now,
            expires_at=expires_at,
        )  # fmt: skip
        entry_offered(entry=entry, now=now)
        for event in events:
            event["data"] = {**(event.get("data") or {}), "reservation": reservation_id}
        conversation_status(conversation_id=conversation_id, from_status=from_status,
                            to_status="offered", now=now, events=events)  # fmt: skip
        return reservation_id
    wall = timezone.now()
    values, vparams = [], []
    for n, event in enumerate(events):
        values.append("(%s, %s, %s, %s, %s, %s, %s)")
        vparams += [n, event["event"], event.get("from_status", ""), event.get("to_status", ""),
                    event.get("reason", "")[:200], event.get("actor", ""),
                    json.dumps(event.get("data") or {})]  # fmt: skip
    sql = (
        "WITH res AS (INSERT INTO routing_reservation (entry_id, conversation_id, queue_id, "
        "agent_id, state, attempt, sticky, offered_at, expires_at, decided_at, end_reason) "
        "VALUES (%s, %s, %s, %s, 'offered', %s, %s, %s, %s, NULL, '') RETURNING id), "
        "e AS (UPDATE routing_queueentry SET state = 'offered', offers = %s, "
        "first_offered_at = %s, last_routed_at = %s, last_nobody_reason = '' WHERE id = %s), "
        "c AS (UPDATE chat_conversation SET status = 'offered', updated_at = %s WHERE id = %s), "
        "ev AS (INSERT INTO chat_conversationevent (conversation_id, type, from_status, "
        "to_status, reason, actor, data, created_at) "
        "SELECT %s, v.type, v.from_status, v.to_status, v.reason, v.actor, "
        "CAST(v.data AS jsonb) || jsonb_build_object('reservation', res.id), %s "
        "FROM res, (VALUES " + ", ".join(values) + ") AS v(n, type, from_status, to_status, "
        "reason, actor, data) ORDER BY v.n) "
        "SELECT id FROM res"
    )
    params = [
        entry.pk, conversation_id, entry.queue_id, agent_id, entry.offers, sticky, _ts(now),
        _ts(expires_at),
        entry.offers, _ts(entry.first_offered_at), _ts(now), entry.pk,
        _ts(wall), conversation_id,
        conversation_id, _ts(wall), *vparams,
    ]  # fmt: skip
    return _fetch(sql, params)[0][0]


def entry_offered(*, entry: QueueEntry, now: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE routing_queueentry SET state = 'offered', offers = %s, first_offered_at = %s, "
            "last_routed_at = %s, last_nobody_reason = '' WHERE id = %s",
            [entry.offers, _ts(entry.first_offered_at), _ts(now), entry.pk],
        )


def conversation_status(
    *, conversation_id: int, from_status: str, to_status: str, now: dt.datetime,
    events: list[dict[str, Any]],
) -> None:  # fmt: skip
    """What chat.services.conversation_transition does (status, updated_at, a
    status_changed event), plus more timeline events, in two statements. Stored times are
    the wall clock, as auto_now fields would have them (``now`` may be a test's clock)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chat_conversation SET status = %s, updated_at = %s WHERE id = %s",
            [to_status, _ts(now), conversation_id],
        )
        values, params = [], []
        for event in events:
            values.append("(%s, %s, %s, %s, %s, %s, %s, %s)")
            params += [
                conversation_id,
                event["event"],
                event.get("from_status", ""),
                event.get("to_status", ""),
                event.get("reason", "")[:200],
                event.get("actor", ""),
                json.dumps(event.get("data") or {}),
                _ts(now),
            ]
        cursor.execute(
            "INSERT INTO chat_conversationevent (conversation_id, type, from_status, to_status, "
            "reason, actor, data, created_at) VALUES " + ", ".join(values),
            params,
        )
