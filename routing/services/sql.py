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
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.utils.dateparse import parse_datetime

from agents.models import AgentProfile
from chat.models import Conversation, Customer, Participant
from routing.models import Queue, QueueEntry


def _ts(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if value is not None else None


def _like(tag: str) -> str:
    escaped = tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%,{escaped},%"


def server_decisions() -> bool:
    """Whether a decision's pick is one call of parley_route_pick (routing/sql/)."""
    return connection.vendor == "postgresql" and settings.PARLEY["ROUTING_SERVER_DECISIONS"]


def _prepared() -> bool:
    return connection.vendor == "postgresql" and settings.PARLEY["ROUTING_PREPARED_STATEMENTS"]


def _pg() -> psycopg.Connection:
    """Django's psycopg connection, ready for explicitly prepared statements."""
    connection.ensure_connection()
    pg = connection.connection
    if pg.prepare_threshold is None:
        # Django turns preparing off (None); only an explicit prepare=True should. Its own
        # client-side cursors never prepare whatever this says.
        pg.prepare_threshold = 1 << 30
    return pg


def _fetch(sql: str, params: list[Any]) -> list[tuple]:
    """Run one of the hot path's statements and return its rows.

    On PostgreSQL the statement is prepared on the server once per connection (psycopg's
    server-side binding with ``prepare=True``): parsing and planning these statements cost
    the server more CPU than running them (measured in bench/routing_sim.py). Django's
    cursors bind on the client and never prepare, so this one goes to psycopg directly,
    on Django's connection and inside its transaction. Behind a pooler in transaction
    mode without prepared-statement support (PgBouncer < 1.21), set
    ROUTING_PREPARED_STATEMENTS=false."""
    if _prepared():
        with psycopg.Cursor(_pg()) as cursor:
            cursor.execute(sql, params, prepare=True)
            # Every statement here returns rows; not asking for .description saves
            # building a column object per column per call.
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _fetch_all(statements: list[tuple[str, list[Any]]]) -> list[list[tuple]]:
    """Several statements' rows. With prepared statements on PostgreSQL they go out in
    one pipeline: one round trip for all of them (and for the BEGIN psycopg sends first),
    executed in order, each statement on its own snapshot, as if sent one by one."""
    if not _prepared():
        return [_fetch(sql, params) for sql, params in statements]
    pg = _pg()
    with pg.pipeline():
        cursors = []
        for sql, params in statements:
            cursor = psycopg.Cursor(pg)
            cursor.execute(sql, params, prepare=True)
            cursors.append(cursor)
    # Leaving the pipeline has received every result.
    out = [cursor.fetchall() for cursor in cursors]
    for cursor in cursors:
        cursor.close()
    return out


PARTICIPANT_KEYS = ("id", "role", "customer_id", "user_id", "delivered_seq", "read_seq",
                    "language", "left_at", "c_name", "c_email", "u_username", "u_first",
                    "u_last", "profile_id", "profile_name")  # fmt: skip


def _participants_sql(where: str) -> str:
    User = get_user_model()
    return (
        "SELECT p.id, p.role, p.customer_id, p.user_id, p.delivered_seq, p.read_seq, "
        "p.language, p.left_at, cu.name, cu.email, "
        f"u.{User.USERNAME_FIELD}, u.first_name, u.last_name, ap.id, ap.display_name "
        "FROM chat_participant p "
        "LEFT JOIN chat_customer cu ON cu.id = p.customer_id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = p.user_id "
        f"LEFT JOIN {AgentProfile._meta.db_table} ap ON ap.user_id = p.user_id "
        f"WHERE p.conversation_id = {where} ORDER BY p.id"
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
        # The profile read in the same statement, cached on the user (None too): the
        # agent's name (chat.names) would otherwise cost a query per agent participant.
        profile = None
        if row["profile_id"] is not None:
            profile = AgentProfile(pk=row["profile_id"], user_id=p.user_id,
                                   display_name=row["profile_name"] or "")  # fmt: skip
        User.agent_profile.related.set_cached_value(p.user, profile)
    return p


@functools.cache
def _decision_sql(vendor: str, skip_locked: bool) -> tuple[str, str, str]:
    find = "(SELECT conversation_id FROM routing_queueentry WHERE id = %s)"
    columns = ", ".join(f'c."{name}"' for name in _columns(Conversation))
    lock = ""
    if vendor == "postgresql":
        lock = " FOR UPDATE OF c SKIP LOCKED" if skip_locked else " FOR UPDATE OF c"
    entry_columns = ", ".join(f'e."{name}"' for name in _columns(QueueEntry))
    queue_columns = ", ".join(f"q.{name}" for name in QUEUE_FIELDS)
    return (
        f"SELECT {columns} FROM chat_conversation c WHERE c.id = {find}{lock}",
        _participants_sql(find),
        f"SELECT {entry_columns}, {queue_columns} FROM routing_queueentry e "
        "JOIN routing_queue q ON q.id = e.queue_id WHERE e.id = %s",
    )


def lock_for_decision(
    entry_id: int, *, skip_locked: bool
) -> tuple[Conversation | None, QueueEntry | None]:
    """Lock the conversation of an entry (its row lock guards the entry and its offers),
    then read its participants (for the payload) and the entry with its queue's rules.

    The reads come after the lock in the same round trip (a pipeline on PostgreSQL):
    each statement takes its snapshot when it starts, so they see whatever the previous
    holder of the lock committed; every write to an entry happens under this same lock.
    SQLite has no row locks: its IMMEDIATE transactions already serialise writers."""
    lock_sql, participants_sql, entry_sql = _decision_sql(connection.vendor, skip_locked)
    locked, participants, entries = _fetch_all(
        [(lock_sql, [entry_id]), (participants_sql, [entry_id]), (entry_sql, [entry_id])]
    )
    if not locked:
        return None, None
    conversation = _from_row(Conversation, locked[0])
    conversation.routing_participants = participants_from_rows(participants, conversation.pk)
    if not entries:
        return conversation, None
    row = entries[0]
    n = len(_attnames(QueueEntry))
    entry = _from_row(QueueEntry, row[:n])
    fields = dict(zip(QUEUE_FIELDS, row[n:], strict=True))
    fields["required_skills"] = _json(fields["required_skills"]) or []
    fields["business_hours"] = _json(fields["business_hours"]) or {}
    fields["is_active"] = bool(fields["is_active"])
    entry.queue = Queue(pk=entry.queue_id, **fields)
    return conversation, entry


@functools.cache
def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _columns(model: type[Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


_converters: dict[tuple[type, str], list[tuple[int, list, Any]]] = {}


def _from_row(model: type[Model], values: tuple) -> Any:
    """A model instance from a row of its concrete columns, through the same converters a
    queryset applies (JSON text, SQLite's timestamps), without a queryset's overhead."""
    key = (model, connection.vendor)
    if key not in _converters:
        found = []
        for i, field in enumerate(model._meta.concrete_fields):
            col = field.get_col(model._meta.db_table)
            convert = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            if convert:
                found.append((i, convert, col))
        _converters[key] = found
    values = list(values)
    for i, convert, col in _converters[key]:
        for step in convert:
            # Bound to whichever connection built the list; the connection is passed in.
            values[i] = step(values[i], col, connection)
    return model.from_db(connection.alias, _attnames(model), values)


def participants_with_names(conversation_id: int) -> list[Participant]:
    """A conversation's participants with just what payloads and fan-out need of their
    customer or user (names), in one statement."""
    return participants_from_rows(
        _fetch(_participants_sql("%s"), [conversation_id]), conversation_id
    )


QUEUE_FIELDS = (
    "name", "priority", "is_active", "required_skills", "language", "sla_seconds",
    "offer_timeout_seconds", "limit_mode", "max_waiting", "business_hours", "timezone",
    "agent_lost_grace_seconds", "moderation_policy",
)  # fmt: skip


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # SQLite keeps JSON as text


CANDIDATE_KEYS = ("id", "user_id", "load", "capacity", "idle_since", "display_name",
                  "occupancy")  # fmt: skip


def _occupancy() -> str:
    # Written as agents_presence_routing_idx's expression is, so the ranking is an index
    # walk: Django's Cast to a FloatField is double precision on PostgreSQL, real on SQLite.
    kind = "double precision" if connection.vendor == "postgresql" else "real"
    return f"CAST(p.load AS {kind}) / p.capacity"


def _rank() -> str:
    return f"{_occupancy()}, p.load, p.idle_since NULLS FIRST, p.user_id"


def _candidate_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    out = [dict(zip(CANDIDATE_KEYS, row[: len(CANDIDATE_KEYS)], strict=True)) for row in rows]
    for row in out:
        if isinstance(row["idle_since"], str):  # SQLite hands timestamps back as text
            row["idle_since"] = parse_datetime(row["idle_since"]).replace(tzinfo=dt.UTC)
        row["occupancy"] = float(row["occupancy"])
    return out


def _candidate_sql(
    *, queue_id: int, skills: list[str], language: str, now: dt.datetime,
    exclude: set[int] | frozenset[int], only_user_id: int | None, limit: int,
    also_language: str = "",
) -> tuple[str, list[Any]]:  # fmt: skip
    """Eligible agents, best first: online with a free slot (the partial index's
    condition), a live console, a member of the queue, with the skills and the language,
    not excluded.

    The plan walks agents_presence_routing_idx in rank order and stops at the first
    ``limit`` that qualify, so a decision costs about the same at 20 agents or 2,000; it
    does not count every eligible agent (that scan was most of a decision's cost)."""
    where = [
        "p.status = 'online'",
        "p.load < p.capacity",
        "p.live_until > %s",
        "EXISTS (SELECT 1 FROM agents_agentprofile_queues m "
        "WHERE m.agentprofile_id = p.profile_id AND m.queue_id = %s)",
    ]
    params: list[Any] = [_ts(now), queue_id]
    for skill in skills:
        where.append("p.skills_tag LIKE %s ESCAPE '\\'")
        params.append(_like(skill))
    for lang in (language, also_language):  # the queue's, and the routing rule's pass
        if lang:
            where.append("p.languages_tag LIKE %s ESCAPE '\\'")
            params.append(_like(lang))
    if exclude:
        where.append(f"p.user_id NOT IN ({', '.join(['%s'] * len(exclude))})")
        params.extend(sorted(exclude))
    if only_user_id is not None:
        where.append("p.user_id = %s")
        params.append(only_user_id)
    sql = (
        "SELECT p.id, p.user_id, p.load, p.capacity, p.idle_since, p.display_name, "
        f"{_occupancy()} AS occupancy FROM agents_agentpresence p "
        f"WHERE {' AND '.join(where)} ORDER BY {_rank()} LIMIT %s"
    )
    return sql, [*params, limit]


def candidates(
    *,
    queue_id: int,
    skills: list[str],
    language: str,
    now: dt.datetime,
    exclude: set[int] | frozenset[int] = frozenset(),
    only_user_id: int | None = None,
    limit: int = 5,
    also_language: str = "",
) -> list[dict[str, Any]]:
    """Eligible agents, best first: least occupied, fewest chats, idle longest, lowest id."""
    sql, params = _candidate_sql(queue_id=queue_id, skills=skills, language=language, now=now,
                                 exclude=exclude, only_user_id=only_user_id, limit=limit,
                                 also_language=also_language)  # fmt: skip
    return _candidate_rows(_fetch(sql, params))


def candidates_and_pick(
    *,
    queue_id: int,
    skills: list[str],
    language: str,
    now: dt.datetime,
    exclude: set[int] | frozenset[int] = frozenset(),
    only_user_id: int | None = None,
    limit: int = 5,
    also_language: str = "",
) -> tuple[list[dict[str, Any]], int | None]:
    """The ranked candidates and one chat slot of the best of them: (rows, the agent
    whose slot was taken or None). The better ranked rows could not be taken.

    On PostgreSQL, one statement: the slot goes to the best candidate whose presence row
    no parallel router holds right now (SKIP LOCKED), re-checked on the row's latest
    version (load < capacity), so routers in parallel spread over agents instead of
    queueing on one row. Elsewhere: the list, then conditional updates in rank order."""
    if connection.vendor != "postgresql":
        rows = candidates(queue_id=queue_id, skills=skills, language=language, now=now,
                          exclude=exclude, only_user_id=only_user_id, limit=limit,
                          also_language=also_language)  # fmt: skip
        for row in rows:
            if slot_take(user_id=row["user_id"], now=now):
                return rows, row["user_id"]
        return rows, None
    cands, params = _candidate_sql(queue_id=queue_id, skills=skills, language=language, now=now,
                                   exclude=exclude, only_user_id=only_user_id, limit=limit,
                                   also_language=also_language)  # fmt: skip
    sql = (
        f"WITH cands AS ({cands}), "
        "pick AS (UPDATE agents_agentpresence SET load = load + 1, last_offer_at = %s "
        # The candidates by primary key, best first; the first one no other router holds.
        # Locking re-reads the row's latest version, on which load < capacity is checked
        # again, as are status and console in the UPDATE's own WHERE. (Keeping those out of
        # the locking subquery keeps its plan on the primary key: with the presence table's
        # statistics always stale, the planner would otherwise walk an index of every online
        # agent once per decision.)
        "WHERE id = (SELECT p.id FROM agents_agentpresence p "
        "WHERE p.id = ANY(ARRAY(SELECT id FROM cands)) AND p.load < p.capacity "
        f"ORDER BY {_rank()} LIMIT 1 FOR UPDATE OF p SKIP LOCKED) "
        # "load - capacity < 0": "load < capacity" would let the prepared statement's generic
        # plan take the partial routing index (its predicate) and walk it all for this id.
        "AND load - capacity < 0 AND status = 'online' AND live_until > %s RETURNING user_id) "
        "SELECT cands.*, (SELECT user_id FROM pick) AS picked FROM cands ORDER BY "
        "cands.occupancy, cands.load, cands.idle_since NULLS FIRST, cands.user_id"
    )
    raw = _fetch(sql, [*params, _ts(now), _ts(now)])
    return _candidate_rows(raw), raw[0][-1] if raw else None


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


def participants_from_rows(rows: list, conversation_id: int) -> list[Participant]:
    """Participants from rows of PARTICIPANT_KEYS (the participants query's, or the
    decision function's JSON arrays in the same order)."""
    return [
        _participant(dict(zip(PARTICIPANT_KEYS, row, strict=True)), conversation_id) for row in rows
    ]
