"""Routing reads: why nobody is eligible, exclusions, queue order, positions, rates.

Everything here is a read; the router (routing.services) acts on the answers under the
conversation's row lock and re-checks capacity with a conditional update, so a stale
answer can cost a retry, never a double assignment.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import (
    Count,
    F,
    Min,
    Q,
    Sum,
)

from agents.models import AgentPresence, AgentProfile
from chat.actors import Actor
from chat.compiled import CompiledQuery
from chat.exceptions import PermissionDenied
from routing.models import Queue, QueueEntry, Reservation

ONLINE = AgentPresence.Status.ONLINE
WAITING = QueueEntry.State.WAITING
OFFERED = QueueEntry.State.OFFERED
LIVE = QueueEntry.Mode.LIVE

# The order the router serves waiting conversations in: live chats before offline messages,
# then priority, then urgency (the earliest SLA breach first), then arrival.
ENTRY_ORDER = ("mode", "-priority", "-queue_priority", "sla_due_at", "enqueued_at", "id")


def cfg(name: str) -> Any:
    return settings.PARLEY[name]


# --- agents ---------------------------------------------------------------------------------
# Who is eligible is the router's one candidate query (routing.services.sql.candidates, or
# parley_route_pick on PostgreSQL); what is here counts the steps of "why nobody".
def _requirement_q(*, skills: list[str], language: str, prefix: str = "") -> Q:
    q = Q()
    for skill in skills:
        q &= Q(**{f"{prefix}skills_tag__contains": f",{skill},"})
    if language:
        q &= Q(**{f"{prefix}languages_tag__contains": f",{language},"})
    return q


@dataclass(frozen=True)
class Staffing:
    """Who could serve a queue now, counted step by step so a 'nobody' has a reason."""

    subscribed: int
    online: int
    live: int
    matching: int
    free: int
    capacity: int  # total chat slots of the matching (online, live, skilled) agents

    def reason(self, *, queue: Queue, skills: list[str], language: str) -> tuple[str, str]:
        """(code, sentence) for the first step where the count drops to zero."""
        if self.subscribed == 0:
            return "no_agent_subscribed", f"no agent is subscribed to {queue.name}"
        if self.online == 0:
            return (
                "no_agent_online",
                f"none of the {self.subscribed} agents of {queue.name} is online",
            )
        if self.live == 0:
            return (
                "no_live_console",
                f"{self.online} agent(s) online but no console heartbeat within "
                f"{cfg('AGENT_HEARTBEAT_TIMEOUT')} s",
            )
        if self.matching == 0:
            need = ", ".join(
                [*(f"skill {s}" for s in skills), *([f"language {language}"] if language else [])]
            )
            return "no_matching_agent", f"{self.live} live agent(s), none with {need}"
        if self.free == 0:
            return "all_at_capacity", f"all {self.matching} matching agent(s) are at capacity"
        return (
            "excluded",
            f"the {self.free} free matching agent(s) declined or missed it recently",
        )


def eligibility_steps(
    *, skills: list[str], language: str, now: dt.datetime, prefix: str = "presence__"
) -> dict[str, Q]:
    """The steps to an agent being offered a chat, each with the ones before it, as filters
    of AgentProfile (``prefix``: the path to its presence): online, live (a console's
    heartbeat), matching (skills and language), free (a chat slot). Counted by
    ``staffing``; admin's reassign lists the "free" ones and names the step one fails."""
    online = Q(**{f"{prefix}status": ONLINE})
    live = online & Q(**{f"{prefix}live_until__gt": now})
    matching = live & _requirement_q(skills=skills, language=language, prefix=prefix)
    free = matching & Q(**{f"{prefix}load__lt": F(f"{prefix}capacity")})
    return {"online": online, "live": live, "matching": matching, "free": free}


def staffing(*, queue: Queue, skills: list[str], language: str, now: dt.datetime) -> Staffing:
    steps = eligibility_steps(skills=skills, language=language, now=now)
    online, live, matching, free = steps["online"], steps["live"], steps["matching"], steps["free"]
    row = AgentProfile.objects.filter(queues=queue.pk).aggregate(
        subscribed=Count("id"),
        online=Count("id", filter=online),
        live=Count("id", filter=live),
        matching=Count("id", filter=matching),
        free=Count("id", filter=free),
        capacity=Sum("presence__capacity", filter=matching),
    )
    row["capacity"] = row["capacity"] or 0
    return Staffing(**row)


def excluded_agents(*, entry: QueueEntry, now: dt.datetime) -> set[int]:
    """Agents not to offer this entry to right now: whoever declined or missed it within
    ROUTING_RETRY_AGENT_AFTER, and whoever just handed it over (transfer)."""
    out: set[int] = set()
    if entry.excluded_agent_id:
        out.add(entry.excluded_agent_id)
    if entry.offers:
        since = now - dt.timedelta(seconds=cfg("ROUTING_RETRY_AGENT_AFTER"))
        out.update(
            Reservation.objects.filter(
                entry_id=entry.pk,
                state__in=[Reservation.State.DECLINED, Reservation.State.EXPIRED],
                decided_at__gte=since,
            ).values_list("agent_id", flat=True)
        )
    return out


# --- queue statistics (cached per process for a few seconds) ----------------------------------
_stats_cache: dict[tuple, tuple[float, Any]] = {}
T = TypeVar("T")
STATS_TTL = 5.0


def _cached(key: tuple, compute: Callable[[], T]) -> T:
    hit = _stats_cache.get(key)
    stamp = time.monotonic()
    if hit is not None and stamp - hit[0] < STATS_TTL:
        return hit[1]
    value = compute()
    if len(_stats_cache) > 10_000:
        _stats_cache.clear()
    _stats_cache[key] = (stamp, value)
    return value


def stats_cache_clear() -> None:
    _stats_cache.clear()


def handle_time(*, queue_id: int, now: dt.datetime) -> float:
    """Mean handle time (assigned → closed) of the queue's recent chats, in seconds; the
    configured default until there are a few samples."""

    def compute() -> float:
        since = now - dt.timedelta(seconds=cfg("ROUTING_RATE_WINDOW") * 4)
        rows = list(
            QueueEntry.objects.filter(
                queue_id=queue_id, closed_at__gte=since, assigned_at__isnull=False
            )
            .order_by("-closed_at")
            .values_list("assigned_at", "closed_at")[:200]
        )
        samples = [(b - a).total_seconds() for a, b in rows if b >= a]
        if len(samples) < 5:
            return float(cfg("ROUTING_DEFAULT_HANDLE_TIME"))
        return max(1.0, sum(samples) / len(samples))

    return _cached(("aht", queue_id, int(now.timestamp() // STATS_TTL)), compute)


def service_rate(*, queue: Queue, now: dt.datetime) -> float:
    """Conversations per second the queue is being served at: the recent rate of
    assignments when there are enough of them, else the staffing estimate (the capacity
    of the matching live agents over the handle time). 0 when nobody can serve it."""

    def compute() -> float:
        window = cfg("ROUTING_RATE_WINDOW")
        since = now - dt.timedelta(seconds=window)
        row = QueueEntry.objects.filter(
            queue_id=queue.pk, assigned_at__gte=since, assigned_at__lte=now
        ).aggregate(n=Count("id"), first=Min("assigned_at"))
        if row["n"] >= 5:
            span = max((now - row["first"]).total_seconds(), 1.0)
            return row["n"] / span
        staff = staffing(
            queue=queue, skills=queue.required_skills, language=queue.language, now=now
        )
        return staff.capacity / handle_time(queue_id=queue.pk, now=now)

    return _cached(("rate", queue.pk, int(now.timestamp() // STATS_TTL)), compute)


def waiting_limit(*, queue: Queue, now: dt.datetime, staff: Staffing | None = None) -> int | None:
    """The most live conversations that may wait in the queue; None for no limit.

    Dynamic: Little's law, L = λW, with the serving rate of the eligible online agents
    (their capacity over the recent handle time) as λ and the SLA target as W.
    """
    if queue.limit_mode == Queue.LimitMode.NONE:
        return None
    if queue.limit_mode == Queue.LimitMode.FIXED:
        return queue.max_waiting
    if staff is None:
        staff = staffing(
            queue=queue, skills=queue.required_skills, language=queue.language, now=now
        )
    rate = staff.capacity / handle_time(queue_id=queue.pk, now=now)
    return math.floor(rate * queue.sla_seconds)


def live_waiting_count(*, queue_id: int, exclude_entry_id: int | None = None) -> int:
    """Live conversations waiting for an offer (offers in flight are being served)."""
    qs = QueueEntry.objects.filter(queue_id=queue_id, state=WAITING, mode=LIVE)
    if exclude_entry_id:
        qs = qs.exclude(pk=exclude_entry_id)
    return qs.count()


def limit_reason(
    *, queue: Queue, now: dt.datetime, staff: Staffing, exclude_entry_id: int | None = None
) -> tuple[str, int, int | None]:
    """(reason, waiting, limit): "over_limit" or "no_agents" when a new live conversation
    would wait past the queue's limit, else "". The router's first decision applies it."""
    limit = waiting_limit(queue=queue, now=now, staff=staff)
    if limit is None:
        return "", 0, None
    waiting = live_waiting_count(queue_id=queue.pk, exclude_entry_id=exclude_entry_id)
    if waiting < limit:
        return "", waiting, limit
    dynamic = queue.limit_mode == Queue.LimitMode.DYNAMIC
    return ("no_agents" if dynamic and staff.capacity == 0 else "over_limit"), waiting, limit


def handoff_outlook(*, queue: Queue, skills: list[str], now: dt.datetime) -> str:
    """What a conversation handed to ``queue`` now will get: "" (an agent, live), or the
    offline reason the router's first decision will give it ("closed", "no_agents",
    "over_limit"), so that the bot promises nothing the queue banner then contradicts."""
    if not queue.is_open(now) or queue.closed_to_new:
        return "closed"
    # The entry's requirements, as enqueue_locked sets them.
    needs = sorted({*(queue.required_skills or []), *skills})
    if staffing(queue=queue, skills=needs, language=(queue.language or "").lower(), now=now).free:
        return ""
    staff = staffing(queue=queue, skills=queue.required_skills, language=queue.language, now=now)
    return limit_reason(queue=queue, now=now, staff=staff)[0]


# --- positions --------------------------------------------------------------------------------
def entries_ahead_q(entry: QueueEntry) -> Q:
    """Entries of the same queue served before ``entry`` (the ENTRY_ORDER, within a queue)."""
    return (
        Q(priority__gt=entry.priority)
        | Q(priority=entry.priority, sla_due_at__lt=entry.sla_due_at)
        | Q(priority=entry.priority, sla_due_at=entry.sla_due_at, enqueued_at__lt=entry.enqueued_at)
        | Q(
            priority=entry.priority,
            sla_due_at=entry.sla_due_at,
            enqueued_at=entry.enqueued_at,
            pk__lt=entry.pk,
        )
    )


def entry_position(*, entry: QueueEntry) -> int:
    """1 = next in line. Offers in flight count as ahead: they are not served yet."""
    ahead = QueueEntry.objects.filter(
        entries_ahead_q(entry),
        queue_id=entry.queue_id,
        state__in=[WAITING, OFFERED],
        mode=LIVE,
    ).count()
    return ahead + 1


def eta_seconds(*, position: int, rate: float) -> float | None:
    """Expected wait for the ``position``-th in line at the recent service rate."""
    if rate <= 0:
        return None
    return position / rate


def queue_position_frame(
    *, entry: QueueEntry, queue: Queue, now: dt.datetime, position: int | None, rate: float
) -> dict[str, Any]:
    """What the widget shows while its conversation waits (frame ``queue.position``)."""
    frame: dict[str, Any] = {
        "type": "queue.position",
        "conversation": entry.conversation_id,
        "queue": {"id": queue.pk, "name": queue.name},
        "mode": entry.mode,
        "state": entry.state,
        "sla_seconds": queue.sla_seconds,
        "open": queue.is_open(now),
    }
    if entry.mode == LIVE:
        eta = eta_seconds(position=position or 1, rate=rate)
        frame.update(
            position=position,
            eta_seconds=round(eta) if eta is not None else None,
            reason="",
            message=_live_message(position or 1, eta),
        )
    else:
        opening = queue.next_opening(now) if not queue.is_open(now) else None
        frame.update(
            position=None,
            eta_seconds=None,
            reason=entry.mode_reason,
            opens_at=opening.isoformat() if opening else None,
            message=OFFLINE_MESSAGES.get(entry.mode_reason, OFFLINE_MESSAGES["over_limit"]),
        )
    return frame


OFFLINE_MESSAGES = {
    "closed": "We're closed right now. Leave your message here and we'll answer when we "
    "open; you'll see the reply when you come back.",
    "over_limit": "All our agents are busy. Leave your message here and we'll answer as soon "
    "as we can; you'll see the reply when you come back.",
    "no_agents": "No agent is available right now. Leave your message here and we'll answer "
    "as soon as we can; you'll see the reply when you come back.",
}


def _live_message(position: int, eta: float | None) -> str:
    line = "You're next in line." if position == 1 else f"You're number {position} in line."
    if eta is None:
        return line
    minutes = max(1, round(eta / 60))
    return f"{line} Estimated wait: about {minutes} minute{'s' if minutes > 1 else ''}."


def queue_position_for_conversation(*, conversation_id: int, now: dt.datetime) -> dict | None:
    """The position frame for one conversation, or None when it is not waiting."""
    entry = (
        QueueEntry.objects.select_related("queue")
        .filter(conversation_id=conversation_id, state__in=[WAITING, OFFERED])
        .first()
    )
    return _position_frame(entry, now) if entry is not None else None


def _position_frame(entry: QueueEntry, now: dt.datetime) -> dict[str, Any]:
    position = entry_position(entry=entry) if entry.mode == LIVE else None
    rate = service_rate(queue=entry.queue, now=now)
    return queue_position_frame(
        entry=entry, queue=entry.queue, now=now, position=position, rate=rate
    )


# Read by every waiting customer's socket as it connects (a reconnect storm is thousands at
# once): compiled once (chat/compiled.py), as the socket's other connect reads are.
_customer_open_entries = CompiledQuery(
    lambda customer: (
        QueueEntry.objects.select_related("queue")
        .filter(conversation__customer_id=customer, state__in=[WAITING, OFFERED])
        .order_by("pk")[:10]
    ),
    "customer",
)


def queue_positions_for_customer(*, actor: Actor, now: dt.datetime) -> list[dict]:
    """Position frames for the customer's own waiting conversations (sent after hello)."""
    if actor.kind != "customer":
        raise PermissionDenied("Only a customer has queue positions.")
    return [_position_frame(e, now) for e in _customer_open_entries(customer=actor.customer.pk)]
