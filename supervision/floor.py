"""The floor dashboard's picture: per queue, per agent, the technical signs and a verdict
("is it tech or staffing?"). One call reads a handful of indexed queries (open entries,
the last hour's entries, presence, today's decided offers), never a scan of history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count
from django.utils import timezone

from agents.models import AgentPresence, AgentProfile, AgentStatusChange
from chat import names
from chat.models import Conversation, Message
from routing import selectors as routing_selectors
from routing.models import Queue, QueueEntry, Reservation
from supervision import metrics

BUCKET = dt.timedelta(minutes=5)
# The waiting and active lists carry at most this many rows each (the socket's payload
# stays bounded); the queue rows' waiting + offline and the agent rows' held chats give
# the totals, so the page says "50 of 179 shown" and links to admin's list for the rest.
LIST_LIMIT = 50
DECIDED = (Reservation.State.ACCEPTED, Reservation.State.DECLINED, Reservation.State.EXPIRED)


def _buckets(now: dt.datetime) -> list[dt.datetime]:
    """The starts of the last hour's 5-minute buckets, oldest first (aligned to :00, :05)."""
    last = now.replace(second=0, microsecond=0, minute=now.minute - now.minute % 5)
    return [last - BUCKET * i for i in range(11, -1, -1)]


def _bucket_index(starts: list[dt.datetime], moment: dt.datetime | None) -> int | None:
    if moment is None or moment < starts[0]:
        return None
    return min(len(starts) - 1, int((moment - starts[0]) / BUCKET))


def queue_rows(now: dt.datetime) -> list[dict[str, Any]]:
    share = settings.SUPERVISION["SLA_AT_RISK_SHARE"]
    starts = _buckets(now)
    queues = list(Queue.objects.order_by("-priority", "name"))
    rows: dict[int, dict[str, Any]] = {}
    for q in queues:
        limit = routing_selectors.waiting_limit(queue=q, now=now)
        rows[q.pk] = {
            "id": q.pk,
            "name": q.name,
            "active": q.is_active,
            "open": q.is_open(now),
            "closed": q.closed_to_new,  # the floor's Close, or a limit fixed at 0
            "sla_seconds": q.sla_seconds,
            "waiting": 0,
            "offline": 0,
            "offline_oldest_s": None,
            "longest_wait_s": 0.0,
            "at_risk": 0,
            "past_sla": 0,
            "waiting_limit": limit,
            "arrivals": [0] * len(starts),
            "answers": [0] * len(starts),
            "abandoned": 0,
            "answered": 0,
            "abandon_rate": None,
        }
    open_entries = QueueEntry.objects.filter(state__in=QueueEntry.OPEN_STATES).values_list(
        "queue_id", "mode", "enqueued_at", "sla_due_at"
    )
    for queue_id, mode, enqueued_at, due in open_entries:
        row = rows.get(queue_id)
        if row is None:
            continue
        wait = (now - enqueued_at).total_seconds()
        if mode == QueueEntry.Mode.OFFLINE:
            # An offline message is answered later, not a live wait: it has no SLA clock
            # (README, "Supervising the floor"), only its age.
            row["offline"] += 1
            row["offline_oldest_s"] = max(row["offline_oldest_s"] or 0.0, round(wait, 1))
            continue
        row["waiting"] += 1
        row["longest_wait_s"] = max(row["longest_wait_s"], round(wait, 1))
        sla = (due - enqueued_at).total_seconds()
        if due <= now:
            row["past_sla"] += 1
        elif wait >= share * sla:
            row["at_risk"] += 1
    recent = QueueEntry.objects.filter(enqueued_at__gte=starts[0]).values_list(
        "queue_id", "enqueued_at", "state"
    )
    for queue_id, enqueued_at, state in recent:
        row = rows.get(queue_id)
        if row is None:
            continue
        i = _bucket_index(starts, enqueued_at)
        if i is not None:
            row["arrivals"][i] += 1
        if state == QueueEntry.State.ABANDONED:
            row["abandoned"] += 1
        elif state == QueueEntry.State.ASSIGNED:
            row["answered"] += 1
    answered = QueueEntry.objects.filter(assigned_at__gte=starts[0]).values_list(
        "queue_id", "assigned_at"
    )
    for queue_id, assigned_at in answered:
        row = rows.get(queue_id)
        i = _bucket_index(starts, assigned_at)
        if row is not None and i is not None:
            row["answers"][i] += 1
    for row in rows.values():
        decided = row["abandoned"] + row["answered"]
        row["abandon_rate"] = round(row["abandoned"] / decided, 4) if decided else None
    return list(rows.values())


def time_in_states(
    *, midnight: dt.datetime, now: dt.datetime, current: dict[int, str]
) -> dict[int, dict[str, int]]:
    """Seconds each agent spent in each status since midnight (UTC), from the day's status
    changes: before the first one the agent was in its ``from_status``, after the last in
    its current status (``current``)."""
    changes: dict[int, list[tuple[dt.datetime, str, str]]] = defaultdict(list)
    rows = AgentStatusChange.objects.filter(at__gte=midnight, at__lte=now).order_by("at", "id")
    for user_id, at, before, after in rows.values_list("user_id", "at", "from_status", "status"):
        changes[user_id].append((at, before, after))
    out: dict[int, dict[str, int]] = {}
    for user_id, status in current.items():
        spent = dict.fromkeys(AgentPresence.Status.values, 0.0)
        since, state = midnight, status
        if changes[user_id]:
            state = changes[user_id][0][1]
        for at, _before, after in changes[user_id]:
            spent[state] = spent.get(state, 0.0) + (at - since).total_seconds()
            since, state = at, after
        spent[state] = spent.get(state, 0.0) + (now - since).total_seconds()
        out[user_id] = {k: round(v) for k, v in spent.items()}
    return out


def _label(choices: type[models.TextChoices], value: str) -> str:
    """A stored code's human label (an unknown code, from an older release, as it is)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def agent_rows(now: dt.datetime) -> list[dict[str, Any]]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    offers: dict[int, dict[str, int]] = defaultdict(dict)
    decided = (
        Reservation.objects.filter(state__in=DECIDED, expires_at__gte=midnight)
        .values("agent_id", "state")
        .annotate(n=Count("id"))
    )
    for row in decided:
        offers[row["agent_id"]][row["state"]] = row["n"]
    held = dict(
        Conversation.objects.filter(status=Conversation.Status.ASSIGNED, assignee__isnull=False)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    memberships: dict[int, list[int]] = defaultdict(list)
    for user_id, queue_id in AgentProfile.queues.through.objects.values_list(
        "agentprofile__user_id", "queue_id"
    ):
        memberships[user_id].append(queue_id)
    rows = []
    presences = list(
        AgentPresence.objects.select_related("user").order_by("display_name", "user_id")
    )
    today = time_in_states(
        midnight=midnight, now=now, current={p.user_id: p.status for p in presences}
    )
    for p in presences:
        live = p.is_live(now)
        since = p.status_changed_at
        rows.append(
            {
                "id": p.user_id,
                "name": p.display_name or p.user.get_username(),
                "status": p.status,
                "status_label": _label(AgentPresence.Status, p.status),
                "reason": p.reason,
                # The admin's labels (AgentPresence.Reason), one mapping for both.
                "reason_label": _label(AgentPresence.Reason, p.reason),
                "live": live,
                "load": p.load,
                "capacity": p.capacity,
                "held": held.get(p.user_id, 0),  # conversations assigned to them now
                "free": p.status == AgentPresence.Status.ONLINE and live and p.load < p.capacity,
                "in_state_s": None if since is None else round((now - since).total_seconds()),
                "today_s": today[p.user_id],
                "queues": sorted(memberships.get(p.user_id, [])),
                "offers": {
                    outcome: offers[p.user_id].get(outcome, 0)
                    for outcome in ("accepted", "expired", "declined")
                },
            }
        )
    return rows


def verdict(queues: list[dict[str, Any]], agents: list[dict[str, Any]]) -> dict[str, Any]:
    """Long waits (a customer past the SLA) while a member of that queue has a free slot:
    the router or delivery is failing (technical). Long waits with every member full or
    away: not enough people (staffing)."""
    technical, staffing = [], []
    for q in queues:
        if not q["past_sla"]:
            continue
        idle = [a["name"] for a in agents if a["free"] and q["id"] in a["queues"]]
        if idle:
            technical.append(f"{q['name']}: {q['past_sla']} past SLA while "
                             f"{len(idle)} agent(s) have a free slot ({', '.join(idle[:3])})")  # fmt: skip
        else:
            staffing.append(f"{q['name']}: {q['past_sla']} past SLA and no member has a free slot")
    if technical:
        return {"kind": "technical", "text": "Technical: " + "; ".join(technical)}
    if staffing:
        return {"kind": "staffing", "text": "Staffing: " + "; ".join(staffing)}
    return {"kind": "ok", "text": "No customer is waiting past the SLA."}


def technical_row() -> dict[str, Any]:
    return {
        **metrics.live_figures(),
        "pipeline_backlog": Message.objects.filter(pipeline=Message.Pipeline.PENDING).count(),
        "heartbeats": metrics.heartbeat_ages(),
        "heartbeat_stale_after": settings.SUPERVISION["HEARTBEAT_STALE_AFTER"],
    }


def waiting_list(now: dt.datetime, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """The waiting customers, for the dashboard's actions (follow, reassign): live chats
    first, the longest wait first, then the offline messages, the oldest first. An
    offline message is not a live wait: it is never past the SLA (``offline`` marks it,
    ``wait_s`` is its age), as the queue row counts it under ``offline``, not ``waiting``."""
    rows = (
        QueueEntry.objects.filter(state__in=QueueEntry.OPEN_STATES)
        .order_by("enqueued_at")
        .values_list("conversation_id", "queue__name", "state", "mode", "enqueued_at", "sla_due_at")
    )
    live = list(rows.filter(mode=QueueEntry.Mode.LIVE)[:limit])
    offline = list(rows.exclude(mode=QueueEntry.Mode.LIVE)[: max(0, limit - len(live))])
    out = []
    for conversation_id, queue_name, state, mode, enqueued_at, due in live + offline:
        is_offline = mode != QueueEntry.Mode.LIVE
        out.append(
            {
                "conversation": conversation_id,
                "queue": queue_name,
                "state": state,
                "state_label": _label(QueueEntry.State, state),
                "mode": mode,
                "offline": is_offline,
                "wait_s": round((now - enqueued_at).total_seconds(), 1),
                "past_sla": not is_offline and due <= now,
            }
        )
    return out


def active_list(now: dt.datetime, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """The chats agents hold now, for the supervisor to see who is on what and step in
    (follow, reassign): those whose customer waits for a reply first, the longest wait
    first (``awaiting_s`` against the queue's reply target, as the console's timer), then
    the others by how long they have been held."""
    rows = (
        Conversation.objects.filter(status=Conversation.Status.ASSIGNED, assignee__isnull=False)
        .select_related("assignee__agent_profile", "queue", "customer")
        .order_by(models.F("awaiting_since").asc(nulls_last=True), "assigned_at", "id")[:limit]
    )
    out = []
    for c in rows:
        awaiting = None if c.awaiting_since is None else (now - c.awaiting_since).total_seconds()
        target = c.queue.sla_seconds if c.queue is not None else None
        out.append(
            {
                "conversation": c.pk,
                "queue": c.queue.name if c.queue is not None else None,
                "agent": c.assignee_id,
                "agent_name": names.user_name(c.assignee),
                "customer": c.customer.display_name,
                "assigned_s": None
                if c.assigned_at is None
                else round((now - c.assigned_at).total_seconds(), 1),
                "awaiting_s": None if awaiting is None else round(max(0.0, awaiting), 1),
                "reply_target": target,
                "past_target": awaiting is not None and target is not None and awaiting >= target,
            }
        )
    return out


# The conditions a supervisor's reassignment needs of the agent (routing's load_take with
# require_online: online, a live console, a free slot), named by the router's own steps
# (routing.selectors.eligibility_steps), in its order: the first one failed is the reason.
REASSIGN_STEPS = ("online", "live", "free")


def reassign_refusal(*, agent_id: int, now: dt.datetime | None = None) -> str | None:
    """Why the agent cannot be given a chat now, as the floor's sentence ("Alice is away.",
    "… is at capacity (3 of 3 chats)."), from the router's eligibility steps; None when
    they could (the refusal was a race: the agent changed since)."""
    now = now or timezone.now()
    profile = (
        AgentProfile.objects.filter(user_id=agent_id).select_related("user", "presence").first()
    )
    if profile is None:
        return None
    steps = routing_selectors.eligibility_steps(skills=[], language="", now=now)
    mine = AgentProfile.objects.filter(pk=profile.pk)
    failed = next((step for step in REASSIGN_STEPS if not mine.filter(steps[step]).exists()), None)
    if failed is None:
        return None
    name = names.user_name(profile.user)
    presence = getattr(profile, "presence", None)
    if failed == "online":
        status = presence.status if presence is not None else AgentPresence.Status.OFFLINE
        label = _label(AgentPresence.Status, status).lower()
        return f"{name} is {label}: only an online agent is given a chat."
    if failed == "live":
        timeout = routing_selectors.cfg("AGENT_HEARTBEAT_TIMEOUT")
        return f"{name} is online but their console is not open (no heartbeat within {timeout} s)."
    return f"{name} is at capacity ({presence.load} of {presence.capacity} chats)."


def floor_snapshot(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as one floor.snapshot frame's fields."""
    now = now or timezone.now()
    queues = queue_rows(now)
    agents = agent_rows(now)
    return {
        "server_time": now.timestamp(),
        "buckets": [b.isoformat() for b in _buckets(now)],
        "queues": queues,
        "agents": agents,
        "waiting": waiting_list(now),
        "active": active_list(now),
        "technical": technical_row(),
        "verdict": verdict(queues, agents),
    }
