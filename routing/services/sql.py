"""The router's hot path in plain SQL.

A decision is a handful of statements on indexed rows; through the ORM, compiling them
cost several times more than running them (measured in bench/routing_sim.py), so the
statements of one decision are written out here. The SQL is portable between PostgreSQL
and SQLite (the embedded mode): RETURNING, window functions and NULLS FIRST exist in
both; values go through Django's adapters so timestamps compare the same way as the
ORM's. Column names follow the models; the routing tests run every statement.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chat.models import Conversation, Customer, Participant
from routing.models import Queue, QueueEntry


def _ts(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


def _like(tag: str) -> str:
    escaped = tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%,{escaped},%"


def _participants_json_sql() -> str:
    User = get_user_model()
    return (
        "(SELECT COALESCE(json_agg(json_build_object('id', p.id, 'role', p.role, "
        "'customer_id', p.customer_id, 'user_id', p.user_id, 'delivered_seq', p.delivered_seq, "
        "'read_seq', p.read_seq, 'language', p.language, 'left_at', p.left_at, "
        "'c_name', cu.name, 'c_email', cu.email, "
        f"'u_username', u.{User.USERNAME_FIELD}, 'u_first', u.first_name, 'u_last', u.last_name) "
        "ORDER BY p.id), '[]') FROM chat_participant p "
        "LEFT JOIN chat_customer cu ON cu.id = p.customer_id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = p.user_id "
        "WHERE p.conversation_id = c.id)"
    )


def _participant(row: dict[str, Any], conversation_id: int) -> Participant:
    User = get_user_model()
    p = Participant(
        pk=row["id"], conversation_id=conversation_id, role=row["role"],
        customer_id=row["customer_id"], user_id=row["user_id"],
        delivered_seq=row["delivered_seq"], read_seq=row["read_seq"],
        language=row["language"] or "",
        left_at=parse_datetime(row["left_at"]) if isinstance(row["left_at"], str) else row["left_at"],
    )  # fmt: skip
    if p.customer_id:
        p.customer = Customer(
            pk=p.customer_id, name=row["c_name"] or "", email=row["c_email"] or ""
        )
    if p.user_id:
        p.user = User(pk=p.user_id, **{User.USERNAME_FIELD: row["u_username"]},
                      first_name=row["u_first"] or "", last_name=row["u_last"] or "")  # fmt: skip
    return p


def conversation_lock_by_entry(entry_id: int, *, skip_locked: bool) -> Conversation | None:
    """Lock the conversation of an entry (its row lock guards the entry and its offers).
    On PostgreSQL the same statement brings the participants (for the payload), so a
    decision needs one round trip less. SQLite has no row locks: its IMMEDIATE
    transactions already serialise writers."""
    find = "(SELECT conversation_id FROM routing_queueentry WHERE id = %s)"
    if connection.vendor != "postgresql":
        rows = list(
            Conversation.objects.raw(
                f"SELECT * FROM chat_conversation WHERE id = {find}", [entry_id]
            )
        )
        return rows[0] if rows else None
    lock = " FOR UPDATE OF c SKIP LOCKED" if skip_locked else " FOR UPDATE OF c"
    rows = list(
        Conversation.objects.raw(
            f"SELECT c.*, {_participants_json_sql()} AS routing_participants "
            f"FROM chat_conversation c WHERE c.id = {find}" + lock,
            [entry_id],
        )
    )
    if not rows:
        return None
    conversation = rows[0]
    participants = _json(conversation.routing_participants)
    conversation.routing_participants = [_participant(r, conversation.pk) for r in participants]
    return conversation


def participants_with_names(conversation_id: int) -> list[Participant]:
    """A conversation's participants with just what payloads and fan-out need of their
    customer or user (names), in one statement."""
    User = get_user_model()
    sql = (
        "SELECT p.*, c.name AS c_name, c.email AS c_email, "
        f"u.{User.USERNAME_FIELD} AS u_username, u.first_name AS u_first, u.last_name AS u_last "
        "FROM chat_participant p LEFT JOIN chat_customer c ON c.id = p.customer_id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = p.user_id "
        "WHERE p.conversation_id = %s ORDER BY p.id"
    )
    out = []
    for p in Participant.objects.raw(sql, [conversation_id]):
        if p.customer_id:
            p.customer = Customer(pk=p.customer_id, name=p.c_name or "", email=p.c_email or "")
        if p.user_id:
            p.user = User(
                pk=p.user_id,
                **{User.USERNAME_FIELD: p.u_username},
                first_name=p.u_first or "",
                last_name=p.u_last or "",
            )
        out.append(p)
    return out


QUEUE_FIELDS = (
    "name", "priority", "is_active", "required_skills", "language", "sla_seconds",
    "offer_timeout_seconds", "limit_mode", "max_waiting", "business_hours", "timezone",
    "agent_lost_grace_seconds", "moderation_policy",
)  # fmt: skip


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # SQLite keeps JSON as text


def entry_with_queue(entry_id: int) -> QueueEntry | None:
    """The entry and its queue's rules in one statement (read under the conversation lock)."""
    columns = ", ".join(f"q.{name} AS q_{name}" for name in QUEUE_FIELDS)
    rows = list(
        QueueEntry.objects.raw(
            f"SELECT e.*, {columns} FROM routing_queueentry e "
            "JOIN routing_queue q ON q.id = e.queue_id WHERE e.id = %s",
            [entry_id],
        )
    )
    if not rows:
        return None
    entry = rows[0]
    fields = {name: getattr(entry, f"q_{name}") for name in QUEUE_FIELDS}
    fields["required_skills"] = _json(fields["required_skills"]) or []
    fields["business_hours"] = _json(fields["business_hours"]) or {}
    fields["is_active"] = bool(fields["is_active"])
    entry.queue = Queue(pk=entry.queue_id, **fields)
    return entry


CANDIDATE_KEYS = ("id", "user_id", "load", "capacity", "idle_since", "display_name",
                  "occupancy", "eligible")  # fmt: skip
ORDER = "occupancy, load, idle_since NULLS FIRST, user_id"


def _candidate_rows(rows) -> list[dict[str, Any]]:
    out = [dict(zip(CANDIDATE_KEYS, row[: len(CANDIDATE_KEYS)], strict=True)) for row in rows]
    for row in out:
        if isinstance(row["idle_since"], str):  # SQLite hands timestamps back as text
            row["idle_since"] = parse_datetime(row["idle_since"]).replace(tzinfo=dt.UTC)
        row["occupancy"] = float(row["occupancy"])
    return out


def _candidate_where(
    *, queue_id: int, skills: list[str], language: str, now: dt.datetime,
    exclude: set[int] | frozenset[int], only_user_id: int | None,
) -> tuple[str, list[Any]]:  # fmt: skip
    """Eligible: a member of the queue, online, with a live console, below capacity, with
    the skills and the language, not excluded. The members semi-join lets the planner
    start from the queue's few members."""
    members = "SELECT agentprofile_id FROM agents_agentprofile_queues WHERE queue_id = %s"
    if connection.vendor == "postgresql":
        # An array computed once, then index probes on profile_id: the plan starts from
        # the queue's members whatever the statistics say about the presence table.
        members = f"p.profile_id = ANY(ARRAY({members}))"
    else:
        members = f"p.profile_id IN ({members})"
    where = [
        members,
        "p.status = 'online'",
        "p.live_until > %s",
        "p.load < p.capacity",
    ]
    params: list[Any] = [queue_id, _ts(now)]
    for skill in skills:
        where.append("p.skills_tag LIKE %s ESCAPE '\\'")
        params.append(_like(skill))
    if language:
        where.append("p.languages_tag LIKE %s ESCAPE '\\'")
        params.append(_like(language))
    if exclude:
        where.append(f"p.user_id NOT IN ({', '.join(['%s'] * len(exclude))})")
        params.extend(sorted(exclude))
    if only_user_id is not None:
        where.append("p.user_id = %s")
        params.append(only_user_id)
    return " AND ".join(where), params


CANDIDATES = (
    "SELECT p.id, p.user_id, p.load, p.capacity, p.idle_since, p.display_name, "
    "CAST(p.load AS REAL) / p.capacity AS occupancy, COUNT(*) OVER () AS eligible "
    "FROM agents_agentpresence p WHERE {where} ORDER BY " + ORDER + " LIMIT %s"
)


def candidates(
    *,
    queue_id: int,
    skills: list[str],
    language: str,
    now: dt.datetime,
    exclude: set[int] | frozenset[int] = frozenset(),
    only_user_id: int | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Eligible agents, best first: least occupied, fewest chats, idle longest, lowest id."""
    where, params = _candidate_where(queue_id=queue_id, skills=skills, language=language,
                                     now=now, exclude=exclude, only_user_id=only_user_id)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(CANDIDATES.format(where=where), [*params, limit])
        return _candidate_rows(cursor.fetchall())


def candidates_and_pick(
    *,
    queue_id: int,
    skills: list[str],
    language: str,
    now: dt.datetime,
    exclude: set[int] | frozenset[int] = frozenset(),
    only_user_id: int | None = None,
    limit: int = 5,
) -> tuple[list[dict[str, Any]], int | None, list[int]]:
    """The ranked candidates and one chat slot of the best of them: (rows, the agent
    whose slot was taken or None, the better-ranked agents that could not be taken).

    On PostgreSQL, one statement: the slot goes to the best candidate whose presence row
    no parallel router holds right now (SKIP LOCKED), re-checked on the row's latest
    version (load < capacity), so routers in parallel spread over agents instead of
    queueing on one row. Elsewhere: the list, then conditional updates in rank order."""
    if connection.vendor != "postgresql":
        rows = candidates(queue_id=queue_id, skills=skills, language=language, now=now,
                          exclude=exclude, only_user_id=only_user_id, limit=limit)  # fmt: skip
        missed = []
        for row in rows:
            if slot_take(user_id=row["user_id"], now=now):
                return rows, row["user_id"], missed
            missed.append(row["user_id"])
        return rows, None, missed
    where, params = _candidate_where(queue_id=queue_id, skills=skills, language=language,
                                     now=now, exclude=exclude, only_user_id=only_user_id)  # fmt: skip
    sql = (
        "WITH cands AS (" + CANDIDATES.format(where=where) + "), "
        "pick AS (UPDATE agents_agentpresence SET load = load + 1, last_offer_at = %s "
        "WHERE id = (SELECT p.id FROM agents_agentpresence p JOIN cands c ON c.id = p.id "
        "WHERE p.load < p.capacity AND p.status = 'online' AND p.live_until > %s "
        "ORDER BY c.occupancy, c.load, c.idle_since NULLS FIRST, c.user_id "
        "LIMIT 1 FOR UPDATE OF p SKIP LOCKED) AND load < capacity RETURNING user_id) "
        "SELECT cands.*, (SELECT user_id FROM pick) AS picked FROM cands ORDER BY "
        "cands.occupancy, cands.load, cands.idle_since NULLS FIRST, cands.user_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, _ts(now), _ts(now)])
        raw = cursor.fetchall()
    rows = _candidate_rows(raw)
    picked = raw[0][-1] if raw else None
    missed = []
    for row in rows:
        if row["user_id"] == picked:
            break
        missed.append(row["user_id"])
    return rows, picked, missed if picked else [r["user_id"] for r in rows]


def slot_take(*, user_id: int, now: dt.datetime) -> bool:
    """One chat slot of an online, live agent, or nothing (the conditional update that
    keeps every agent within capacity, whatever runs in parallel)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agents_agentpresence SET load = load + 1, last_offer_at = %s "
            "WHERE user_id = %s AND load < capacity AND status = 'online' AND live_until > %s",
            [_ts(now), user_id, _ts(now)],
        )
        return cursor.rowcount == 1


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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


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
