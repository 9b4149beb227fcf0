"""A silent customer: the agent asks "Are you still there?" in one click, and if the
customer stays silent the chat closes under the queue's customer-left policy
(``Queue.silence_close_seconds``; empty keeps it open)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.actors import Actor
from chat.exceptions import Conflict, PermissionDenied
from chat.model_checks import seconds_after
from chat.models import Conversation, ConversationEvent, Message, Participant
from chat.selectors import conversation_get_for_actor, participant_get_for_actor
from chat.services import event_record, message_create
from routing.services.core import lock_conversation
from routing.services.release import conversation_customer_left

NUDGE = "Are you still there?"
NUDGED = "customer.nudged"
Status = Conversation.Status


def customer_nudge(
    *, actor: Actor, conversation_id: Any, now: dt.datetime | None = None
) -> Message:
    """The assigned agent asks a silent customer whether they are still there: an agent
    message, and a timeline event the silence sweep counts from."""
    if actor.kind != "agent":
        raise PermissionDenied("Only agents nudge customers.")
    now = now or timezone.now()
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.status != Status.ASSIGNED or conversation.assignee_id != actor.user.pk:
            raise Conflict("Only the assigned agent nudges the customer.", code="not_assigned")
        sender = participant_get_for_actor(actor=actor, conversation=conversation)
        message = message_create(conversation=conversation, sender=sender, body=NUDGE)
        event_record(
            conversation=conversation,
            type=NUDGED,
            actor=actor.label,
            reason="the agent asked whether the customer is still there",
            data={"seq": message.seq},
        )
    return message


def silent_customer_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Assigned chats whose customer was asked "Are you still there?" and stayed silent
    for their queue's silence_close_seconds are resolved (the customer left)."""
    now = now or timezone.now()
    nudges = (
        ConversationEvent.objects.filter(type=NUDGED, conversation__status=Status.ASSIGNED)
        .filter(conversation__queue__silence_close_seconds__isnull=False)
        .select_related("conversation__queue")
        .order_by("-id")[: limit * 5]
    )
    latest: dict[int, ConversationEvent] = {}
    for event in nudges:
        latest.setdefault(event.conversation_id, event)
    closed = 0
    for conversation_id, event in list(latest.items())[:limit]:
        wait = event.conversation.queue.silence_close_seconds
        if seconds_after(event.created_at, wait) > now:
            continue
        answered = Message.objects.filter(
            conversation_id=conversation_id,
            sender__role=Participant.Role.CUSTOMER,
            created_at__gt=event.created_at,
        ).exists()
        if answered:
            continue
        reason = "the customer did not answer 'Are you still there?'"
        closed += conversation_customer_left(
            conversation_id=conversation_id, reason=reason, now=now
        )
    return closed
