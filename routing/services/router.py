"""The router: putting conversations in queues and offering them to agents.

It runs when a conversation is queued (after the caller's commit) and when an agent gains
free capacity; the sweeper (routing.tasks) runs it again for anything a crashed process
left behind. One decision (route_entry) is routing/services/decision.py.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.exceptions import ValidationError
from chat.models import Conversation
from chat.services import conversation_transition
from routing import selectors
from routing.models import Queue, QueueEntry
from routing.services.core import ROUTER
from routing.services.decision import route_entry
from routing.services.dispatch import router_kick_entry
from routing.services.offers import entry_close_locked

WAITING = QueueEntry.State.WAITING


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
    returning: bool = False,
) -> QueueEntry:
    """Open a queue entry for a locked conversation and set it queued; route after commit.
    ``returning``: the conversation was being served (QueueEntry.returning)."""
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
        sla_due_at=queue.sla_due(now),
        sticky_agent_id=sticky_agent_id,
        excluded_agent_id=exclude_agent_id,
        returning=returning,
    )
    extra = {"assigned_at": None, **(fields or {})}
    if conversation.status == Conversation.Status.BOT and conversation.awaiting_since is None:
        # Handed off by the bot: the customer now waits for a person, whatever the bot said
        # last ("an expert will join you" answered nothing). The reply timer starts here.
        extra["awaiting_since"] = now
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.QUEUED,
        reason=reason,
        actor=ROUTER,
        queue=queue,
        queued_at=now,
        priority=priority,
        # Waiting again (sent back to the queue, declined after assignment, reopened): the
        # last assignment's time no longer describes it (admin showed a stale "Assigned at").
        **extra,
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
        elif decision.outcome == "nobody" and decision.code not in (
            "excluded",
            "raced",
            "language_required",  # about this entry, not its queue
            "closed_to_new",  # arrived while closed: those waiting before are still served
        ):
            hopeless.add(key)
    return offers


def entry_priority_set(*, conversation_id: int, priority: int) -> int:
    """The waiting line orders by its entry's copy of the conversation's priority: keep it
    equal when the priority changes (the caller holds the conversation's row lock)."""
    return QueueEntry.objects.filter(
        conversation_id=conversation_id, closed_at__isnull=True
    ).update(priority=priority)
