"""The sweepers: timers driven by state in the database. Celery beat runs them every
second or few (routing.tasks); each is idempotent, bounded in count and time, and safe to
run in several workers at once, so a worker killed mid-way loses nothing: the next sweep
finds the same rows and finishes the job.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from agents.models import AgentPresence
from agents.services import agent_presence_sweep
from chat import realtime, recipients
from chat.models import Conversation
from chat.services import conversation_transition
from routing import selectors
from routing.models import Queue, QueueEntry, Reservation
from routing.services.core import conversation_publish_all, lock_conversation, logger
from routing.services.offers import agent_offers_revoke_on_commit, offers_sweep
from routing.services.release import (
    conversation_abandon,
    conversation_customer_left,
    requeue_locked,
)
from routing.services.router import enqueue_locked, waiting_sweep
from routing.services.silence import silent_customer_sweep

Status = Conversation.Status


def _seconds(name: str) -> dt.timedelta:
    return dt.timedelta(seconds=settings.PARLEY[name])


def grace_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Conversations of an agent whose console is gone go back to the queue once the
    queue's grace period is over (sticky to that agent, who gets them first on return)."""
    now = now or timezone.now()
    rows = list(
        Conversation.objects.filter(
            status=Status.ASSIGNED,
            assignee__presence__console_lost_at__isnull=False,
            queue__agent_lost_grace_seconds__isnull=False,
        ).values_list(
            "pk",
            "assignee_id",
            "assignee__presence__console_lost_at",
            "queue__agent_lost_grace_seconds",
        )[:limit]
    )
    moved = 0
    for conversation_id, agent_id, lost_at, grace in rows:
        if lost_at + dt.timedelta(seconds=grace) > now:
            continue
        with transaction.atomic():
            conversation = lock_conversation(conversation_id)
            still_lost = AgentPresence.objects.filter(
                user_id=agent_id, console_lost_at__isnull=False
            ).exists()
            if (
                conversation is None
                or conversation.status != Status.ASSIGNED
                or conversation.assignee_id != agent_id
                or not still_lost
            ):
                continue
            requeue_locked(
                conversation=conversation,
                reason=f"the agent's console has been gone for over {grace} s",
                now=now,
                sticky_agent_id=agent_id,
                tell_customer=True,
            )
            conversation_publish_all(
                conversation=conversation, extra_groups=[recipients.user_group(agent_id)]
            )
            moved += 1
    return moved


def abandon_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """A live waiting conversation whose customer is gone (no widget heartbeat) and which
    has been silent for QUEUE_ABANDON_AFTER is abandoned. Offline messages are kept: the
    customer was told they would be answered later."""
    now = now or timezone.now()
    cutoff = now - _seconds("QUEUE_ABANDON_AFTER")
    ids = list(
        QueueEntry.objects.filter(
            state__in=QueueEntry.OPEN_STATES, mode=QueueEntry.Mode.LIVE, enqueued_at__lte=cutoff
        )
        .filter(
            Q(conversation__customer__last_seen_at__isnull=True)
            | Q(conversation__customer__last_seen_at__lte=cutoff)
        )
        .filter(
            Q(conversation__last_message_at__isnull=True)
            | Q(conversation__last_message_at__lte=cutoff)
        )
        .values_list("conversation_id", flat=True)[:limit]
    )
    reason = (
        f"the customer left the queue (not seen for {settings.PARLEY['QUEUE_ABANDON_AFTER']} s)"
    )
    return sum(1 for i in ids if conversation_abandon(conversation_id=i, reason=reason, now=now))


def customer_left_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """An assigned conversation whose customer is gone and which has been silent for
    CUSTOMER_LEFT_AFTER is resolved, so the agent's slot comes back."""
    now = now or timezone.now()
    cutoff = now - _seconds("CUSTOMER_LEFT_AFTER")
    ids = list(
        Conversation.objects.filter(status=Status.ASSIGNED, assigned_at__lte=cutoff)
        .filter(Q(customer__last_seen_at__isnull=True) | Q(customer__last_seen_at__lte=cutoff))
        .filter(Q(last_message_at__isnull=True) | Q(last_message_at__lte=cutoff))
        .values_list("pk", flat=True)[:limit]
    )
    reason = f"the customer left (gone and silent for {settings.PARLEY['CUSTOMER_LEFT_AFTER']} s)"
    return sum(
        1 for i in ids if conversation_customer_left(conversation_id=i, reason=reason, now=now)
    )


def repair_sweep(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Waiting conversations without an open queue entry (data from before the router, a
    status changed by hand) get one; 'offered' ones without an open offer go back in line."""
    now = now or timezone.now()
    open_entry = QueueEntry.objects.filter(state__in=QueueEntry.OPEN_STATES)
    lost = list(
        Conversation.objects.filter(status__in=Conversation.WAITING_STATUSES)
        .exclude(pk__in=open_entry.values("conversation_id"))
        .values_list("pk", flat=True)[:limit]
    )
    orphans = list(
        QueueEntry.objects.filter(state=QueueEntry.State.OFFERED)
        .exclude(pk__in=Reservation.objects.filter(state="offered").values("entry_id"))
        .values_list("pk", "conversation_id")[:limit]
    )
    fixed = 0
    for conversation_id in lost:
        with transaction.atomic():
            conversation = lock_conversation(conversation_id)
            if conversation is None or conversation.status not in Conversation.WAITING_STATUSES:
                continue
            if open_entry.filter(conversation_id=conversation_id).exists():
                continue
            enqueue_locked(
                conversation=conversation, reason="repair: waiting without a queue entry", now=now
            )
            fixed += 1
    for entry_id, conversation_id in orphans:
        with transaction.atomic():
            conversation = lock_conversation(conversation_id)
            if Reservation.objects.filter(entry_id=entry_id, state="offered").exists():
                continue
            if QueueEntry.objects.filter(pk=entry_id, state=QueueEntry.State.OFFERED).update(
                state=QueueEntry.State.WAITING, last_routed_at=None
            ):
                if conversation.status == Status.OFFERED:
                    conversation_transition(
                        conversation=conversation,
                        to_status=Status.QUEUED,
                        reason="repair: offered without an open offer",
                        actor="router",
                    )
                fixed += 1
    if fixed:
        logger.warning("routing repair fixed %s conversations", fixed)
    return fixed


def loads_reconcile(*, now: dt.datetime | None = None) -> int:
    """Check every agent's load counter against the truth (assigned open chats plus open
    offers) and fix drift under the presence row lock. Every service changes the counter
    in the same transaction as the truth, so this finds nothing unless something changed
    conversations behind the services' back; it is the safety net. Returns rows fixed."""
    assigned = dict(
        Conversation.objects.filter(status=Status.ASSIGNED, assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    offered = dict(
        Reservation.objects.filter(state=Reservation.State.OFFERED)
        .values_list("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    fixed = 0
    for user_id, load in AgentPresence.objects.values_list("user_id", "load"):
        if load == assigned.get(user_id, 0) + offered.get(user_id, 0):
            continue
        with transaction.atomic():
            # Counted while holding the row: a transaction that changed the truth but not
            # yet the counter holds no lock on it and will apply its +1/-1 after us.
            presence = AgentPresence.objects.select_for_update().get(user_id=user_id)
            truth = (
                Conversation.objects.filter(status=Status.ASSIGNED, assignee_id=user_id).count()
                + Reservation.objects.filter(state="offered", agent_id=user_id).count()
            )
            if presence.load != truth:
                logger.warning("agent %s load %s != %s: fixed", user_id, presence.load, truth)
                AgentPresence.objects.filter(pk=presence.pk).update(load=truth)
                fixed += 1
    return fixed


# --- customers' queue positions -------------------------------------------------------------------
def positions_publish(*, now: dt.datetime | None = None, budget_seconds: float = 0.5) -> int:
    """Send queue.position to each waiting customer whose position, ETA or mode changed
    since the last frame (the last sent values are kept in the cache). Returns frames."""
    now = now or timezone.now()
    started = time.monotonic()
    sent = 0
    # Every second, for a queue of thousands waiting, reading and ranking its entries cost
    # PostgreSQL 70-80 ms (a join and a sort of 2,000 rows) and the worker as much again,
    # mostly to find that nothing moved. A customer's frame changes only when the line's
    # entries or their order keys change, or the serving rate: so each queue's line is
    # summed first (one aggregate for all queues) and read only when the sums or the rate
    # moved since its last publish. The newest enqueued_at keeps a line rebuilt with the
    # same ids (SQLite reuses them after a rollback) from passing for the old one.
    lines = {
        row.pop("queue_id"): row
        for row in QueueEntry.objects.filter(state__in=QueueEntry.OPEN_STATES)
        .values("queue_id")
        .annotate(
            n=Count("id"),
            ids=Sum("id"),
            top=Max("id"),
            newest=Max("enqueued_at"),
            priorities=Sum("priority"),
            queue_priorities=Sum("queue_priority"),
            live=Count("id", filter=Q(mode=QueueEntry.Mode.LIVE)),
        )
        .order_by()
    }
    published = cache.get_many([f"qpos-line:{pk}" for pk in lines])
    for queue in Queue.objects.filter(pk__in=list(lines)):
        if time.monotonic() - started > budget_seconds:
            break
        rate = selectors.service_rate(queue=queue, now=now)
        line_key = f"qpos-line:{queue.pk}"
        line = (sorted(lines[queue.pk].items()), round(rate, 6))
        if published.get(line_key) == line:
            continue
        entries = list(
            QueueEntry.objects.filter(queue_id=queue.pk, state__in=QueueEntry.OPEN_STATES)
            .order_by(*selectors.ENTRY_ORDER)
            .select_related("conversation")[:2000]
        )
        frames: dict[str, tuple[int, dict[str, Any]]] = {}
        position = 0
        for entry in entries:
            if entry.mode == QueueEntry.Mode.LIVE:
                position += 1
            frame = selectors.queue_position_frame(
                entry=entry,
                queue=queue,
                now=now,
                position=position if entry.mode == QueueEntry.Mode.LIVE else None,
                rate=rate,
            )
            frames[f"qpos:{entry.pk}"] = (entry.conversation.customer_id, frame)
        if not frames:
            continue
        last = cache.get_many(list(frames))
        changed: dict[str, Any] = {line_key: line}
        for key, (customer_id, frame) in frames.items():
            signature = (frame["position"], _eta_bucket(frame["eta_seconds"]), frame["mode"])
            if last.get(key) != signature:
                realtime.publish_on_commit([recipients.customer_group(customer_id)], frame)
                changed[key] = signature
                sent += 1
        cache.set_many(changed, timeout=3600)
    return sent


def _eta_bucket(eta: float | None) -> int | None:
    # A new frame only when the estimate moves by a visible step (15 s).
    return None if eta is None else int(eta // 15)


# --- the two beat entries ------------------------------------------------------------------------
def routing_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Every second: expire due offers, route what waits, refresh customers' positions."""
    out = {"expired": offers_sweep(now=now), "offered": waiting_sweep(now=now)}
    out["positions"] = positions_publish(now=now)
    return out


def agents_lost_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Agents whose consoles all fell silent go offline (agents' sweep), and their open
    offers go to the next agent. Returns the agents set offline."""
    gone = agent_presence_sweep(now=now)
    for user_id in gone:
        agent_offers_revoke_on_commit(
            user_id=user_id, reason="the agent's console went away", now=now
        )
    return gone


def timers_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Every few seconds: heartbeat loss, the grace period of agents who left, customers
    who left, repairs and the load check."""
    return {
        "agents_offline": len(agents_lost_sweep(now=now)),
        "requeued": grace_sweep(now=now),
        "abandoned": abandon_sweep(now=now),
        "customer_left": customer_left_sweep(now=now),
        "silent_closed": silent_customer_sweep(now=now),
        "repaired": repair_sweep(now=now),
        "loads_fixed": loads_reconcile(now=now),
    }
