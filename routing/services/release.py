"""The agent's slot given back: a conversation that leaves routing (resolved, abandoned,
the customer gone) or goes back to a queue."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import transaction
from django.utils import timezone

from chat import recipients
from chat.models import Conversation
from chat.services import conversation_transition, event_message_post
from routing.models import Queue, QueueEntry
from routing.services.core import (
    agent_name,
    conversation_publish_all,
    load_add,
    load_release,
    lock_conversation,
    participant_join,
    participant_leave,
)
from routing.services.dispatch import router_kick_agent
from routing.services.offers import entry_close_locked
from routing.services.router import enqueue_locked

Status = Conversation.Status


def conversation_released(
    *, conversation: Conversation, from_status: str, reason: str, now: dt.datetime | None = None
) -> None:
    """A conversation left routing (resolved, abandoned): on the caller's locked row,
    close its queue entry, withdraw an open offer, give the agent's slot back."""
    now = now or timezone.now()
    entry_close_locked(
        conversation=conversation, state=QueueEntry.State.CANCELLED, now=now, reason=reason
    )
    if from_status == Status.ASSIGNED and conversation.assignee_id:
        load_release(user_id=conversation.assignee_id, now=now)
        QueueEntry.objects.filter(
            conversation_id=conversation.pk,
            state=QueueEntry.State.ASSIGNED,
            closed_at__isnull=True,
        ).update(closed_at=now)
        transaction.on_commit(partial(router_kick_agent, user_id=conversation.assignee_id))


def conversation_reclaimed(*, conversation: Conversation) -> None:
    """An undone resolve (chat.services.conversation_unresolve): on the caller's locked
    row, assigned again to its agent, the agent takes the chat slot the resolve gave back
    and the assignment's queue entry, closed by the resolve, is open again (its handle time
    goes on). The slot is taken even over capacity: see load_add."""
    user = conversation.assignee
    participant_join(conversation=conversation, user=user)
    entry = (
        QueueEntry.objects.filter(
            conversation_id=conversation.pk,
            state=QueueEntry.State.ASSIGNED,
            assigned_agent_id=user.pk,
        )
        .order_by("-id")
        .first()
    )
    if entry is not None and entry.closed_at is not None:
        QueueEntry.objects.filter(pk=entry.pk).update(closed_at=None)
    load_add(user_id=user.pk)  # the presence row last: the lock order of routing.services.core


def requeue_locked(
    *,
    conversation: Conversation,
    reason: str,
    now: dt.datetime,
    queue: Queue | None = None,
    note: str = "",
    exclude_agent_id: int | None = None,
    sticky_agent_id: int | None = None,
    tell_customer: bool = False,
) -> QueueEntry:
    """Send a locked conversation back to a queue; its agent (if any) leaves and gets
    the slot back. ``tell_customer``: say on the transcript that the agent is gone and
    someone else is being found (their console went silent, a supervisor sent it back);
    a transfer says where it went instead."""
    from_id = conversation.assignee_id if conversation.status == Status.ASSIGNED else None
    if from_id and tell_customer:
        name = agent_name(conversation.assignee)
        event_message_post(
            conversation=conversation,
            body=f"{name} is no longer available. We're finding someone else to help you.",
            data={"line": "agent_gone", "name": name},
        )
    if from_id:
        load_release(user_id=from_id, now=now)
        QueueEntry.objects.filter(
            conversation_id=conversation.pk,
            state=QueueEntry.State.ASSIGNED,
            closed_at__isnull=True,
        ).update(closed_at=now)
        participant_leave(conversation=conversation, user_id=from_id, now=now)
        transaction.on_commit(partial(router_kick_agent, user_id=from_id))
    return enqueue_locked(
        conversation=conversation,
        reason=reason,
        queue=queue,
        now=now,
        note=note,
        exclude_agent_id=exclude_agent_id,
        # 0 = explicitly nobody: a transfer must not stick to the agent who let it go.
        sticky_agent_id=sticky_agent_id if sticky_agent_id is not None else 0,
        fields={"assignee": None},
        returning=from_id is not None,
    )


def agent_conversations_requeue(*, user_id: int, reason: str, now: dt.datetime) -> int:
    """Every conversation assigned to the agent back to its queue, each under its own row
    lock (the customer is told the agent is gone; the agent never gets it back by
    stickiness). Returns how many moved."""
    moved = 0
    ids = Conversation.objects.filter(
        assignee_id=user_id, status=Conversation.Status.ASSIGNED
    ).values_list("pk", flat=True)
    for conversation_id in list(ids):
        conversation = lock_conversation(conversation_id)
        if conversation is None or conversation.assignee_id != user_id:
            continue
        requeue_locked(
            conversation=conversation,
            reason=reason,
            now=now,
            exclude_agent_id=user_id,
            tell_customer=True,
        )
        conversation_publish_all(
            conversation=conversation, extra_groups=[recipients.user_group(user_id)]
        )
        moved += 1
    return moved


# --- the ends: abandoned, customer left --------------------------------------------------------
def conversation_abandon(
    *, conversation_id: int, reason: str, now: dt.datetime | None = None
) -> bool:
    """A waiting conversation whose customer is gone is closed as abandoned (a timer)."""
    now = now or timezone.now()
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        if conversation is None or conversation.status not in Conversation.WAITING_STATUSES:
            return False
        entry_close_locked(
            conversation=conversation, state=QueueEntry.State.ABANDONED, now=now, reason=reason
        )
        conversation_transition(
            conversation=conversation, to_status=Status.ABANDONED, reason=reason, actor="timer"
        )
        event_message_post(
            conversation=conversation,
            body="The customer left the queue.",
            data={"line": "left_queue"},
        )
        conversation_publish_all(conversation=conversation)
    return True


def conversation_customer_left(
    *, conversation_id: int, reason: str, now: dt.datetime | None = None
) -> bool:
    """An assigned conversation whose customer is gone (and which has gone quiet) is
    resolved, freeing the agent's slot (a timer)."""
    now = now or timezone.now()
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        if conversation is None or conversation.status != Status.ASSIGNED:
            return False
        conversation_transition(
            conversation=conversation,
            to_status=Status.RESOLVED,
            reason=reason,
            actor="timer",
            resolved_at=now,
        )
        conversation_released(
            conversation=conversation, from_status=Status.ASSIGNED, reason=reason, now=now
        )
        event_message_post(
            conversation=conversation,
            body="Conversation closed: the customer left.",
            data={"line": "closed_left"},
        )
        conversation_publish_all(conversation=conversation)
    return True
