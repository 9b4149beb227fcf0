"""One routing decision: pick the best eligible agent for a waiting entry and offer it, or
record why nobody.

One decision = one short transaction on one locked conversation row: pick the best
eligible agent, take one of their chat slots with a conditional update (so no agent goes
over capacity, whatever runs in parallel), write the offer, record why. The pick is one
call of parley_route_pick on PostgreSQL (routing/sql/route_pick.sql) or _pick's statements
elsewhere; the rest is the same Python for both.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat import realtime, recipients
from chat.models import Conversation
from routing import selectors
from routing.models import Queue, QueueEntry, Reservation
from routing.payloads import reservation_payload
from routing.services import language, sql, sql_offer, sql_server
from routing.services.core import ROUTER, conversation_payload_fast, decision_record
from routing.services.decision_pick import (
    CANDIDATES,
    Pick,
    candidate_row,
    offer_why,
    pick_result,
    speaks_of,
)

WAITING = QueueEntry.State.WAITING
OFFERED = QueueEntry.State.OFFERED
LIVE = QueueEntry.Mode.LIVE
OFFLINE = QueueEntry.Mode.OFFLINE


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
    works, why = language.translation_ok()
    result = sql_server.pick_on_server(
        entry_id=entry_id, now=now, skip_locked=skip_locked, candidates=CANDIDATES,
        translation_ok=works, language_wait=language.language_wait(),
    )  # fmt: skip
    if result["outcome"] == "skipped":
        return Decision("skipped", entry_id, code=result["code"])
    conversation, entry = sql_server.decision_rows_from_json(result)
    if result["outcome"] == "decide":
        # Closed (by its hours, or by a supervisor to what arrived since), or in a time zone
        # PostgreSQL does not know: Python decides.
        return _decide(conversation=conversation, entry=entry, now=now)
    rows = sql_server.candidate_rows_from_json(result["rows"])
    sticky_id = entry.sticky_agent_id if result["sticky_skipped"] else None
    rule = language.LanguageRule(
        result["language_rule"],
        result["language"] or "",
        why if result["language_rule"] in ("require", "relaxed") else "",
        language.language_wait(),
    )
    pick = pick_result(rows, result["agent"], result["sticky"], set(result["excluded"]),
                        sticky_skipped=sticky_id, rule=rule,
                        speaks=speaks_of(rule, result["language_phase"], result["sticky"]))  # fmt: skip
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


def _decide(*, conversation: Conversation, entry: QueueEntry, now: dt.datetime) -> Decision:
    queue = entry.queue
    closed, code = "", "queue_closed"
    if not queue.is_open(now):
        closed = f"{queue.name} is outside its business hours"
    elif queue.closed_to_new and _arrived_while_closed(entry):
        closed = f"{queue.name} is closed to new chats by a supervisor"
        code = "closed_to_new"
    if closed:
        return _nobody(conversation=conversation, entry=entry, now=now, code=code,
                       text=closed, offline_reason="closed")  # fmt: skip
    rule = language.rule_for(
        language=conversation.language,
        settled=conversation.language_settled_at is not None,
        enqueued_at=entry.enqueued_at,
        now=now,
    )
    pick = _pick(entry, now, rule)
    return _conclude(conversation=conversation, entry=entry, now=now, pick=pick)


def _arrived_while_closed(entry: QueueEntry) -> bool:
    """Whether a supervisor's Close (Queue.closed_to_new) holds this entry back.

    A new arrival (its first decision) gets the offline fallback, and an entry kept as an
    offline message because its queue was closed ("answered when the queue opens") stays
    held on every later decision until the queue opens: holding it on the first one only
    let the next sweep offer it to an agent, queue still closed (a walkthrough). What was
    already waiting when the supervisor closed the queue (live, or moved offline later for
    another reason) is still served, as the floor says, and so is a conversation back in
    line after being served (QueueEntry.returning: its agent's console went silent, or it
    was passed on): a customer mid-chat is not told to leave a message. parley_route_pick
    asks the same.
    """
    if entry.mode == LIVE:
        return entry.last_routed_at is None and not entry.returning
    return entry.mode_reason == "closed"


def _pick(entry: QueueEntry, now: dt.datetime, rule: language.LanguageRule) -> Pick:
    """The pick statement by statement (parley_route_pick does it in one call): the
    previous agent, then one pass per language filter of the rule (speakers, then anyone)."""
    excluded = selectors.excluded_agents(entry=entry, now=now)
    common = {
        "queue_id": entry.queue_id,
        "skills": entry.skills,
        "language": entry.language,
        "now": now,
    }
    sticky_id = entry.sticky_agent_id
    if sticky_id and sticky_id not in excluded:
        required = rule.language if rule.rule == "require" else ""
        rows, picked = sql.candidates_and_pick(
            **common, also_language=required, only_user_id=sticky_id, limit=1
        )
        if picked:
            return pick_result(rows, picked, True, excluded, sticky_skipped=None, rule=rule,
                                speaks=speaks_of(rule, required, True))  # fmt: skip
        excluded = excluded | {sticky_id}
    else:
        sticky_id = None
    for phase_filter in rule.phases():
        rows, picked = sql.candidates_and_pick(
            **common, also_language=phase_filter, exclude=excluded, limit=CANDIDATES
        )
        if picked:
            break
    return pick_result(rows, picked, False, excluded, sticky_skipped=sticky_id, rule=rule,
                        speaks=speaks_of(rule, phase_filter, False))  # fmt: skip


def _conclude(
    *, conversation: Conversation, entry: QueueEntry, now: dt.datetime, pick: Pick
) -> Decision:
    if pick.agent_id is None:
        if pick.rule.rule == "require":
            return _nobody(
                conversation=conversation, entry=entry, now=now, tried=pick.tried,
                excluded=pick.excluded, code="language_required",
                text=f"no free agent speaks {pick.rule.language} and translation is "
                f"unavailable ({pick.rule.translation}); anyone may take it after "
                f"{pick.rule.wait} s of waiting",
                language_data=pick.rule.data(speaks=None),
            )  # fmt: skip
        return _nobody(conversation=conversation, entry=entry, now=now, tried=pick.tried,
                       excluded=pick.excluded)  # fmt: skip
    winner = next(r for r in pick.rows if r["user_id"] == pick.agent_id)
    return _offer(conversation=conversation, entry=entry, winner=winner, rows=pick.rows,
                  excluded=pick.excluded, now=now, sticky=pick.sticky, tried=pick.tried,
                  rule=pick.rule, speaks=pick.speaks)  # fmt: skip


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
    rule: language.LanguageRule,
    speaks: bool | None,
) -> Decision:
    queue = entry.queue
    agent_id = winner["user_id"]
    expires_at = now + dt.timedelta(seconds=queue.offer_timeout_seconds)
    entry.offers += 1
    entry.first_offered_at = entry.first_offered_at or now
    name = candidate_row(winner)["name"]
    why = offer_why(winner, rows, sticky)
    if speaks is not None:
        why = f"{why}; {rule.why(speaks=speaks)}"
    from_status = conversation.status
    reservation_id = sql_offer.offer_write(
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
                "candidates": [candidate_row(r) for r in rows],
                "excluded": sorted(excluded),
                "tried": tried,
                "order": _order_data(entry),
                "expires_at": expires_at.isoformat(),
                "language": rule.data(speaks=speaks),
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
            ([recipients.user_group(reservation.agent_id)], offered),
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
    language_data: dict[str, Any] | None = None,
) -> Decision:
    """No offer this time: say why on the timeline (once per distinct reason), and on the
    first decision apply the queue's limit: over it, the customer gets the offline
    fallback (leave a message, answered later) instead of an endless wait."""
    queue = entry.queue
    # The limit admits new chats; one back in line after being served was admitted then.
    first = entry.last_routed_at is None and not entry.returning
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
        reason, waiting, limit = selectors.limit_reason(
            queue=queue, now=now, staff=staff, exclude_entry_id=entry.pk
        )
        if reason:
            entry.mode, entry.mode_reason, mode_changed = OFFLINE, reason, True
            text += (
                f"; {waiting} already waiting, limit {limit} ({queue.limit_mode}): "
                "offline message, answered later"
            )
    elif (
        entry.mode == LIVE
        and code == "no_agent_online"
        and queue.limit_mode == Queue.LimitMode.DYNAMIC
    ):
        # Waiting live when the last agent of the queue left (went offline, or their
        # console went silent past its grace): nobody will answer soon, so the customer is
        # offered to leave a message instead of watching "you're next in line" for good (a
        # walkthrough). Still routed, after the live ones, when someone comes back.
        entry.mode, entry.mode_reason, mode_changed = OFFLINE, "no_agents", True
        text += "; nobody online any more: offline message, answered later"
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
                "language": language_data,
            },
        )
    return Decision("nobody", entry.pk, code=code, reason=text)
