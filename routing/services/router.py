"""The router: putting conversations in queues and offering them to agents.

It runs when a conversation is queued (after the caller's commit) and when an agent gains
free capacity; the sweeper (routing.tasks) runs it again for anything a crashed process
left behind. One decision = one short transaction on one locked conversation row: pick
the best eligible agent, take one of their chat slots with a conditional update (so no
agent goes over capacity, whatever runs in parallel), create the offer, record why.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.models import AgentPresence
from chat import realtime
from chat.exceptions import ValidationError
from chat.models import Conversation
from chat.services import conversation_transition
from routing import selectors
from routing.models import Queue, QueueEntry, Reservation
from routing.payloads import reservation_payload
from routing.services import sql
from routing.services.core import (
    ROUTER,
    conversation_payload_fast,
    decision_record,
    logger,
)

WAITING = QueueEntry.State.WAITING
OFFERED = QueueEntry.State.OFFERED
LIVE = QueueEntry.Mode.LIVE
OFFLINE = QueueEntry.Mode.OFFLINE
CANDIDATES = 5  # ranked candidates recorded with each decision


@dataclass
class Decision:
    outcome: str  # offered | nobody | skipped
    entry_id: int
    agent_id: int | None = None
    reservation_id: int | None = None
    code: str = ""
    reason: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list)
    committed_at: float | None = None  # perf_counter() at commit, before publishing


def default_queue() -> Queue:
    queue, _ = Queue.objects.get_or_create(name="General")
    return queue


def _clean_skills(skills: Any) -> list[str]:
    if skills is None:
        return []
    if not isinstance(skills, (list, tuple)) or not all(
        isinstance(s, str) and s.strip() for s in skills
    ):
        raise ValidationError("skills must be a list of names.", field="skills")
    return sorted({s.strip().lower() for s in skills})


def _clean_priority(priority: Any) -> int | None:
    if priority is None:
        return None
    if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
        raise ValidationError("priority must be an integer from -100 to 100.", field="priority")
    return priority


def _sticky_agent_id(conversation: Conversation, now: dt.datetime) -> int | None:
    """The agent who last handled the conversation, if that was within the sticky window."""
    last = (
        QueueEntry.objects.filter(conversation_id=conversation.pk, assigned_agent__isnull=False)
        .order_by("-assigned_at")
        .values("assigned_agent_id", "assigned_at", "closed_at")
        .first()
    )
    if last is None:
        return None
    handled_until = last["closed_at"] or last["assigned_at"]
    window = dt.timedelta(seconds=settings.PARLEY["ROUTING_STICKY_WINDOW"])
    return last["assigned_agent_id"] if now - handled_until <= window else None


def enqueue_locked(
    *,
    conversation: Conversation,
    reason: str,
    queue: Queue | None = None,
    priority: int | None = None,
    skills: list[str] | None = None,
    now: dt.datetime | None = None,
    note: str = "",
    exclude_agent_id: int | None = None,
    sticky_agent_id: int | None = None,
    fields: dict[str, Any] | None = None,
) -> QueueEntry:
    """Open a queue entry for a locked conversation and set it queued; route after commit."""
    from routing.services.offers import entry_close_locked

    explicit_now = now
    now = now or timezone.now()
    skills = _clean_skills(skills)
    priority = _clean_priority(priority)
    queue = queue or conversation.queue or conversation.site.default_queue or default_queue()
    # One open entry per conversation: a re-enqueue (transfer, bot retry) closes the old one
    # and hands back its offer's slot first.
    entry_close_locked(conversation=conversation, state=QueueEntry.State.CANCELLED, now=now,
                       reason=f"re-queued: {reason}")  # fmt: skip
    if sticky_agent_id is None:
        sticky_agent_id = _sticky_agent_id(conversation, now)
    sticky_agent_id = sticky_agent_id or None  # 0: explicitly no sticky agent
    priority = conversation.priority if priority is None else priority
    entry = QueueEntry.objects.create(
        conversation=conversation,
        queue=queue,
        priority=priority,
        queue_priority=queue.priority,
        skills=sorted({*(queue.required_skills or []), *skills}),
        language=(queue.language or "").lower(),
        reason=reason[:200],
        note=note,
        enqueued_at=now,
        sla_due_at=now + dt.timedelta(seconds=queue.sla_seconds),
        sticky_agent_id=sticky_agent_id,
        excluded_agent_id=exclude_agent_id,
    )
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.QUEUED,
        reason=reason,
        actor=ROUTER,
        queue=queue,
        queued_at=now,
        priority=priority,
        **(fields or {}),
    )
    transaction.on_commit(partial(router_kick_entry, entry_id=entry.pk, now=explicit_now))
    return entry


def conversation_enqueue(
    *,
    conversation: Conversation,
    reason: str,
    queue: Queue | None = None,
    priority: int | None = None,
    skills: list[str] | None = None,
    now: dt.datetime | None = None,
) -> Conversation:
    """Put a conversation (row-locked by the caller, inside its transaction) in a queue.

    ``queue`` defaults to the conversation's, then the site's default, then "General";
    ``priority`` (higher first) defaults to the conversation's; ``skills`` are required on
    top of the queue's. The router runs after the caller commits, so the caller's
    transaction stays short; the caller publishes its own conversation.updated.
    """
    enqueue_locked(
        conversation=conversation,
        reason=reason,
        queue=queue,
        priority=priority,
        skills=skills,
        now=now,
    )
    return conversation


# --- dispatch -------------------------------------------------------------------------------
def router_kick_entry(*, entry_id: int, now: dt.datetime | None = None) -> None:
    """Route one entry now (inline) or on a Celery worker (ROUTING_DISPATCH=celery). Never
    raises: a failure here leaves the entry waiting, and the sweeper routes it."""
    try:
        if settings.PARLEY["ROUTING_DISPATCH"] == "celery":
            from routing.tasks import route_entry_task

            route_entry_task.delay(entry_id)
        else:
            route_entry(entry_id=entry_id, now=now)
    except Exception:
        logger.exception("routing entry %s failed; the sweeper will retry", entry_id)


def router_kick_agent(*, user_id: int, now: dt.datetime | None = None) -> None:
    """An agent gained free capacity: look for work for them (never raises)."""
    try:
        if settings.PARLEY["ROUTING_DISPATCH"] == "celery":
            from routing.tasks import route_agent_task

            route_agent_task.delay(user_id)
        else:
            route_for_agent(user_id=user_id, now=now)
    except Exception:
        logger.exception("routing for agent %s failed; the sweeper will retry", user_id)


# --- one decision -----------------------------------------------------------------------------
def route_entry(
    *, entry_id: int, now: dt.datetime | None = None, skip_locked: bool = False
) -> Decision:
    """Offer one waiting entry to the best eligible agent, or record why nobody.

    Safe to run from any number of workers at once: the conversation row lock serialises
    decisions on one conversation, the state re-check under it makes a second router a
    no-op, and the conditional slot update serialises decisions on one agent.

    On PostgreSQL the pick (lock, re-check, hours, exclusions, sticky agent, ranking and
    the slot) is one call of parley_route_pick (routing/sql/route_pick.sql); elsewhere, or
    with ROUTING_SERVER_DECISIONS off, it is _route_locked's statements. Everything after
    the pick is the same Python either way.
    """
    now = now or timezone.now()
    stamp: list[float] = []
    with transaction.atomic():
        # Runs first after commit, before the publishes: when the decision became durable.
        transaction.on_commit(lambda: stamp.append(time.perf_counter()))
        if sql.server_decisions():
            decision = _route_on_server(entry_id=entry_id, now=now, skip_locked=skip_locked)
        else:
            decision = _route_locked(entry_id=entry_id, now=now, skip_locked=skip_locked)
    decision.committed_at = stamp[0] if stamp else None
    return decision


def _route_on_server(*, entry_id: int, now: dt.datetime, skip_locked: bool) -> Decision:
    result = sql.pick_on_server(
        entry_id=entry_id, now=now, skip_locked=skip_locked, candidates=CANDIDATES
    )
    if result["outcome"] == "skipped":
        return Decision("skipped", entry_id, code=result["code"])
    conversation, entry = sql.decision_rows_from_json(result)
    if result["outcome"] == "decide":
        # Closed, or in a time zone PostgreSQL does not know: Python's zoneinfo decides.
        return _decide(conversation=conversation, entry=entry, now=now)
    rows = sql.candidate_rows_from_json(result["rows"])
    sticky_id = entry.sticky_agent_id if result["sticky_skipped"] else None
    pick = _pick_result(rows, result["agent"], result["sticky"], set(result["excluded"]),
                        sticky_skipped=sticky_id)  # fmt: skip
    return _conclude(conversation=conversation, entry=entry, now=now, pick=pick)


def _route_locked(*, entry_id: int, now: dt.datetime, skip_locked: bool) -> Decision:
    conversation, entry = sql.lock_for_decision(entry_id, skip_locked=skip_locked)
    if conversation is None:
        return Decision("skipped", entry_id, code="busy_or_missing")
    if (
        entry is None
        or entry.state != WAITING
        or conversation.status
        not in (
            Conversation.Status.QUEUED,
            Conversation.Status.REOPENED,
        )
    ):
        return Decision("skipped", entry_id, code=f"not_waiting:{getattr(entry, 'state', '')}")
    if conversation.queue_id == entry.queue_id:
        conversation.queue = entry.queue  # the payload needs its name: no second query
    return _decide(conversation=conversation, entry=entry, now=now)


def _candidate_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": row["user_id"],
        "name": row.get("display_name") or f"agent {row['user_id']}",
        "load": row["load"],
        "capacity": row["capacity"],
        "idle_since": row["idle_since"].isoformat() if row.get("idle_since") else None,
    }


def offer_why(winner: dict[str, Any], rows: list[dict[str, Any]], sticky: bool) -> str:
    """Why this agent, in words: the reason on the timeline for both ways of picking."""
    load = f"{winner['load']}/{winner['capacity']} chats"
    if sticky:
        return f"previous agent of this conversation (sticky routing), {load}"
    others = [r for r in rows if r["user_id"] != winner["user_id"]]
    # The ranking stops at the first CANDIDATES rows: past that, "at least".
    eligible = f"{len(rows)}+" if len(rows) >= CANDIDATES else str(len(rows))
    if not others:
        return f"the only eligible agent, {load}"
    runner = others[0]
    if winner["occupancy"] < runner["occupancy"]:
        why = "least occupied"
    elif winner["load"] < runner["load"]:
        why = "as occupied as the next but with fewer chats"
    elif (winner["idle_since"] or dt.datetime.min.replace(tzinfo=dt.UTC)) < (
        runner["idle_since"] or dt.datetime.max.replace(tzinfo=dt.UTC)
    ):
        why = "as occupied as the next, idle longest"
    else:
        why = "tied with the next; lowest agent id"
    return f"{why} of {eligible} eligible agents, {load}"


@dataclass
class Pick:
    """Who got the slot, from either way of picking."""

    rows: list[dict[str, Any]]  # the ranked candidates (sql.CANDIDATE_KEYS)
    agent_id: int | None  # whose chat slot was taken; None: nobody's
    sticky: bool  # the previous agent of the conversation
    excluded: set[int]
    tried: list[dict[str, Any]]


def _pick_result(
    rows: list[dict[str, Any]], picked: int | None, sticky: bool, excluded: set[int], *,
    sticky_skipped: int | None,
) -> Pick:  # fmt: skip
    """The pick with what was tried first: the previous agent if not eligible now, and the
    better ranked candidates whose last slot another router held or had just filled."""
    tried: list[dict[str, Any]] = []
    if sticky_skipped:
        tried.append({"agent": sticky_skipped, "skipped": "sticky agent not eligible now"})
    if not sticky:
        for row in rows:
            if row["user_id"] == picked:
                break
            tried.append({**_candidate_row(row), "skipped": "slot taken by a parallel decision"})
    return Pick(rows, picked, sticky, excluded, tried)


def _decide(*, conversation: Conversation, entry: QueueEntry, now: dt.datetime) -> Decision:
    queue = entry.queue
    if not queue.is_open(now):
        return _nobody(
            conversation=conversation,
            entry=entry,
            now=now,
            code="queue_closed",
            text=f"{queue.name} is outside its business hours",
            offline_reason="closed",
        )
    return _conclude(conversation=conversation, entry=entry, now=now, pick=_pick(entry, now))


def _pick(entry: QueueEntry, now: dt.datetime) -> Pick:
    """The pick statement by statement (parley_route_pick does it in one call)."""
    excluded = selectors.excluded_agents(entry=entry, now=now)
    common = {
        "queue_id": entry.queue_id,
        "skills": entry.skills,
        "language": entry.language,
        "now": now,
    }
    sticky_id = entry.sticky_agent_id
    if sticky_id and sticky_id not in excluded:
        rows, picked = sql.candidates_and_pick(**common, only_user_id=sticky_id, limit=1)
        if picked:
            return _pick_result(rows, picked, True, excluded, sticky_skipped=None)
        excluded = excluded | {sticky_id}
    else:
        sticky_id = None
    rows, picked = sql.candidates_and_pick(**common, exclude=excluded, limit=CANDIDATES)
    return _pick_result(rows, picked, False, excluded, sticky_skipped=sticky_id)


def _conclude(
    *, conversation: Conversation, entry: QueueEntry, now: dt.datetime, pick: Pick
) -> Decision:
    if pick.agent_id is None:
        return _nobody(conversation=conversation, entry=entry, now=now, tried=pick.tried,
                       excluded=pick.excluded)  # fmt: skip
    winner = next(r for r in pick.rows if r["user_id"] == pick.agent_id)
    return _offer(conversation=conversation, entry=entry, winner=winner, rows=pick.rows,
                  excluded=pick.excluded, now=now, sticky=pick.sticky, tried=pick.tried)  # fmt: skip


def _offer(
    *,
    conversation: Conversation,
    entry: QueueEntry,
    winner: dict[str, Any],
    rows: list[dict[str, Any]],
    excluded: set[int],
    now: dt.datetime,
    sticky: bool,
    tried: list[dict[str, Any]],
) -> Decision:
    queue = entry.queue
    agent_id = winner["user_id"]
    expires_at = now + dt.timedelta(seconds=queue.offer_timeout_seconds)
    entry.offers += 1
    entry.first_offered_at = entry.first_offered_at or now
    name = _candidate_row(winner)["name"]
    why = offer_why(winner, rows, sticky)
    from_status = conversation.status
    reservation_id = sql.offer_write(
        entry=entry,
        conversation_id=conversation.pk,
        agent_id=agent_id,
        sticky=sticky,
        now=now,
        expires_at=expires_at,
        from_status=from_status,
        events=[
            {"event": "status_changed", "from_status": from_status, "to_status": "offered",
             "reason": f"offered to {name}", "actor": ROUTER, "data": {"agent": agent_id}},
            {"event": "routing.decision", "reason": f"offered to {name}: {why}", "actor": ROUTER,
             "data": {
                "outcome": "offered",
                "queue": queue.pk,
                "entry": entry.pk,
                "attempt": entry.offers,
                "agent": agent_id,
                "sticky": sticky,
                "why": why,
                "eligible": len(rows),
                "eligible_at_least": len(rows) >= CANDIDATES,
                "candidates": [_candidate_row(r) for r in rows],
                "excluded": sorted(excluded),
                "tried": tried,
                "order": _order_data(entry),
                "expires_at": expires_at.isoformat(),
             }},
        ],
    )  # fmt: skip
    entry.state = OFFERED
    conversation.status = Conversation.Status.OFFERED
    reservation = Reservation(
        pk=reservation_id, entry_id=entry.pk, conversation_id=conversation.pk, queue=queue,
        agent_id=agent_id, attempt=entry.offers, sticky=sticky, offered_at=now,
        expires_at=expires_at,
    )  # fmt: skip
    _offer_publish(conversation=conversation, reservation=reservation, note=entry.note, now=now)
    return Decision(
        "offered",
        entry.pk,
        agent_id=agent_id,
        reservation_id=reservation.pk,
        code="sticky" if sticky else "best",
        reason=why,
        candidates=rows,
    )


def _offer_publish(
    *, conversation: Conversation, reservation: Reservation, note: str, now: dt.datetime
) -> None:
    payload, groups = conversation_payload_fast(conversation=conversation)
    offered = {
        "type": "reservation.offered",
        "reservation": reservation_payload(reservation, conversation=payload, now=now)
        | {"note": note},
    }
    # The offer first: the agent's console should not wait behind the lobby's update.
    realtime.publish_many_on_commit(
        [
            ([realtime.user_group(reservation.agent_id)], offered),
            (groups, {"type": "conversation.updated", "conversation": payload}),
        ]
    )


def _order_data(entry: QueueEntry) -> dict[str, Any]:
    return {
        "priority": entry.priority,
        "queue_priority": entry.queue_priority,
        "sla_due_at": entry.sla_due_at.isoformat(),
        "enqueued_at": entry.enqueued_at.isoformat(),
        "mode": entry.mode,
    }


def _nobody(
    *,
    conversation: Conversation,
    entry: QueueEntry,
    now: dt.datetime,
    code: str = "",
    text: str = "",
    offline_reason: str = "",
    tried: list[dict[str, Any]] | None = None,
    excluded: set[int] | None = None,
) -> Decision:
    """No offer this time: say why on the timeline (once per distinct reason), and on the
    first decision apply the queue's limit: over it, the customer gets the offline
    fallback (leave a message, answered later) instead of an endless wait."""
    queue = entry.queue
    first = entry.last_routed_at is None
    staff = None
    if not code:
        staff = selectors.staffing(
            queue=queue, skills=entry.skills, language=entry.language, now=now
        )
        code, text = staff.reason(queue=queue, skills=entry.skills, language=entry.language)
        if any(t.get("skipped", "").startswith("slot taken") for t in tried or ()):
            code, text = "raced", "the free agents' last slots were taken by parallel decisions"
    mode_changed = False
    if offline_reason and entry.mode == LIVE:
        entry.mode, entry.mode_reason, mode_changed = OFFLINE, offline_reason, True
        text += "; kept as an offline message, answered when the queue opens"
    elif first and entry.mode == LIVE and code != "raced":
        if staff is None:
            staff = selectors.staffing(
                queue=queue, skills=queue.required_skills, language=queue.language, now=now
            )
        limit = selectors.waiting_limit(queue=queue, now=now, staff=staff)
        if limit is not None:
            waiting = selectors.live_waiting_count(queue_id=queue.pk, exclude_entry_id=entry.pk)
            if waiting >= limit:
                dynamic = queue.limit_mode == Queue.LimitMode.DYNAMIC
                reason = "no_agents" if dynamic and staff.capacity == 0 else "over_limit"
                entry.mode, entry.mode_reason, mode_changed = OFFLINE, reason, True
                text += (
                    f"; {waiting} already waiting, limit {limit} ({queue.limit_mode}): "
                    "offline message, answered later"
                )
    fields = ["last_routed_at", "last_nobody_reason", "mode", "mode_reason"]
    if entry.mode == LIVE and entry.eta_seconds is None:
        position = selectors.entry_position(entry=entry)
        rate = selectors.service_rate(queue=queue, now=now)
        entry.position_at_enqueue = entry.position_at_enqueue or position
        entry.eta_seconds = selectors.eta_seconds(position=position, rate=rate)
        fields += ["position_at_enqueue", "eta_seconds"]
    record = mode_changed or code != entry.last_nobody_reason
    entry.last_routed_at = now
    entry.last_nobody_reason = code
    entry.save(update_fields=fields)
    if record:
        decision_record(
            conversation=conversation,
            reason=f"no offer: {text}",
            data={
                "outcome": "offline" if entry.mode == OFFLINE else "waiting",
                "code": code,
                "queue": queue.pk,
                "entry": entry.pk,
                "mode": entry.mode,
                "mode_reason": entry.mode_reason,
                "staffing": staff.__dict__ if staff else None,
                "tried": tried or [],
                "excluded": sorted(excluded or ()),
                "order": _order_data(entry),
                "eta_seconds": entry.eta_seconds,
            },
        )
    return Decision("nobody", entry.pk, code=code, reason=text)


# --- an agent gained capacity ------------------------------------------------------------------
def route_for_agent(
    *, user_id: int, now: dt.datetime | None = None, max_offers: int = 10, scan: int = 50
) -> int:
    """Offer the best waiting conversations this agent is eligible for (priority, urgency,
    arrival), while they have free slots. Each offer is an ordinary decision (the best
    agent for that conversation wins, which may be someone else). Returns offers made."""
    now = now or timezone.now()
    made = 0
    for _ in range(max_offers):
        presence = AgentPresence.objects.filter(user_id=user_id).first()
        if presence is None or presence.profile_id is None or not presence.is_available(now):
            return made
        queues = {
            q.pk: q for q in Queue.objects.filter(agents__pk=presence.profile_id, is_active=True)
        }
        open_ids = [pk for pk, q in queues.items() if q.is_open(now)]
        if not open_ids:
            return made
        rows = list(
            QueueEntry.objects.filter(state=WAITING, queue_id__in=open_ids)
            .order_by(*selectors.ENTRY_ORDER)
            .values("id", "skills", "language", "excluded_agent_id")[:scan]
        )
        skills = set(presence.skills_tag.strip(",").split(",")) - {""}
        languages = set(presence.languages_tag.strip(",").split(",")) - {""}
        since = now - dt.timedelta(seconds=settings.PARLEY["ROUTING_RETRY_AGENT_AFTER"])
        refused = set(
            Reservation.objects.filter(
                agent_id=user_id,
                entry_id__in=[r["id"] for r in rows],
                state__in=[Reservation.State.DECLINED, Reservation.State.EXPIRED],
                decided_at__gte=since,
            ).values_list("entry_id", flat=True)
        )
        offered = False
        for row in rows:
            if (
                row["id"] in refused
                or row["excluded_agent_id"] == user_id
                or not set(row["skills"]) <= skills
                or (row["language"] and row["language"] not in languages)
            ):
                continue
            decision = route_entry(entry_id=row["id"], now=now, skip_locked=True)
            if decision.outcome == "offered":
                made += 1
                offered = True
                break
        if not offered:
            return made
    return made


def waiting_sweep(
    *, now: dt.datetime | None = None, limit: int = 200, budget_seconds: float = 0.5
) -> int:
    """Route waiting entries nobody routed lately (a lost trigger, a crashed worker, an
    agent who came back): in serving order, bounded in count and time. Entries with the
    same queue and requirements share a 'nobody' answer within one sweep."""
    now = now or timezone.now()
    started = time.monotonic()
    stale = now - dt.timedelta(seconds=2)
    rows = list(
        QueueEntry.objects.filter(
            Q(last_routed_at__lte=stale) | Q(last_routed_at__isnull=True), state=WAITING
        )
        .order_by(*selectors.ENTRY_ORDER)
        .values("id", "queue_id", "skills", "language")[:limit]
    )
    hopeless: set[tuple] = set()
    offers = 0
    for row in rows:
        if time.monotonic() - started > budget_seconds:
            break
        key = (row["queue_id"], tuple(row["skills"]), row["language"])
        if key in hopeless:
            continue
        decision = route_entry(entry_id=row["id"], now=now, skip_locked=True)
        if decision.outcome == "offered":
            offers += 1
        elif decision.outcome == "nobody" and decision.code not in ("excluded", "raced"):
            hopeless.add(key)
    return offers
