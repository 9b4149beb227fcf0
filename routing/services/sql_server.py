"""The pick on the server: one call of parley_route_pick (routing/sql/route_pick.sql) and
its JSON answer read back into the rows the Python pick returns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import ProgrammingError

from chat.dbrows import from_json
from chat.models import Conversation
from routing.models import Queue, QueueEntry
from routing.services.sql import (
    CANDIDATE_KEYS,
    _fetch,
    _json,
    _ts,
    participants_from_rows,
)

PICK_SQL = "SELECT parley_route_pick(%s, %s, %s, %s, %s, %s, %s)"


def pick_on_server(
    *, entry_id: int, now: dt.datetime, skip_locked: bool, candidates: int,
    translation_ok: bool, language_wait: int,
) -> dict[str, Any]:  # fmt: skip
    """One call of parley_route_pick (routing/sql/route_pick.sql), inside the caller's
    transaction: the conversation locked, the entry re-checked and the best eligible
    agent's chat slot taken, or why not. (Sending BEGIN in a pipeline with it saved the
    round trip but measured more client CPU per decision than it saved.)"""
    params = [entry_id, _ts(now), skip_locked,
              float(settings.PARLEY["ROUTING_RETRY_AGENT_AFTER"]), candidates,
              translation_ok, float(language_wait)]  # fmt: skip
    try:
        rows = _fetch(PICK_SQL, params)
    except (psycopg.errors.UndefinedFunction, ProgrammingError) as exc:
        if "parley_route_pick" not in str(exc):
            raise
        raise ImproperlyConfigured(
            "The routing SQL is not installed: run `manage.py migrate` or "
            "`manage.py install_routing_sql` (or set ROUTING_SERVER_DECISIONS=false)."
        ) from exc
    return _json(rows[0][0])


def decision_rows_from_json(result: dict[str, Any]) -> tuple[Conversation, QueueEntry]:
    """The locked conversation (with its participants) and the entry (with its queue) as
    parley_route_pick returned them, as lock_for_decision returns them."""
    conversation = from_json(Conversation, result["conversation"])
    conversation.routing_participants = participants_from_rows(
        result["participants"], conversation.pk
    )
    entry = from_json(QueueEntry, result["entry"])
    entry.queue = from_json(Queue, result["queue"])
    if conversation.queue_id == entry.queue_id:
        conversation.queue = entry.queue
    elif conversation.queue_id is not None:
        conversation.queue = Queue(
            pk=conversation.queue_id, name=result["conversation_queue_name"] or ""
        )
    return conversation, entry


def candidate_rows_from_json(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Candidates (CANDIDATE_KEYS arrays) from JSON: as _candidate_rows gives them."""
    out = [dict(zip(CANDIDATE_KEYS, row, strict=True)) for row in rows]
    for row in out:
        if row["idle_since"] is not None:
            row["idle_since"] = dt.datetime.fromisoformat(row["idle_since"]).astimezone(dt.UTC)
        row["occupancy"] = float(row["occupancy"])
    return out
