"""Group conversations: the assigned agent (or a supervisor) invites another agent or a
supervisor into a conversation; an invited agent leaves again. Every active participant
gets the messages, receipts and typing (chat.recipients fans out to them); the customer
sees who joined and who left (event lines)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chat import recipients
from chat import selectors as chat_selectors
from chat.actors import Actor
from chat.exceptions import Conflict, NotFound, PermissionDenied
from chat.models import Conversation, Participant
from chat.selectors import conversation_get_for_actor
from chat.services import event_message_post, event_record
from routing.services.checks import clean_id
from routing.services.core import (
    agent_name,
    conversation_publish_all,
    lock_conversation,
    participant_join,
    participant_leave,
)

Status = Conversation.Status


def conversation_invite(
    *, actor: Actor, conversation_id: Any, user_id: Any, now: dt.datetime | None = None
) -> Conversation:
    """The assigned agent or a supervisor brings another agent (or a supervisor) in."""
    if actor.kind != "agent":
        raise PermissionDenied("Only agents invite agents.")
    user_id = clean_id(user_id, "agent")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    guest = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if guest is None or not chat_selectors.user_is_agent(guest):
        raise NotFound("No such agent.", code="agent_not_found")
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.status != Status.ASSIGNED:
            raise Conflict("Only an assigned conversation takes guests.", code="not_assigned")
        if conversation.assignee_id != actor.user.pk and not actor.is_supervisor:
            raise PermissionDenied("Only the assigned agent or a supervisor invites.")
        already = Participant.objects.filter(
            conversation=conversation, user_id=guest.pk, left_at__isnull=True
        ).exists()
        if already:
            raise Conflict(f"{agent_name(guest)} is already in it.", code="already_in")
        participant_join(conversation=conversation, user=guest)
        event_message_post(
            conversation=conversation,
            body=f"{agent_name(guest)} joined the conversation.",
            data={"line": "joined", "name": agent_name(guest)},
        )
        event_record(
            conversation=conversation,
            type="participant.invited",
            actor=actor.label,
            reason=f"{agent_name(actor.user)} invited {agent_name(guest)}",
            data={"agent": guest.pk},
        )
        conversation_publish_all(conversation=conversation)
    return conversation


def conversation_leave(
    *, actor: Actor, conversation_id: Any, now: dt.datetime | None = None
) -> Conversation:
    """An invited agent leaves (the assigned agent transfers or resolves instead)."""
    if actor.kind != "agent":
        raise PermissionDenied("Only agents leave conversations.")
    now = now or timezone.now()
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.assignee_id == actor.user.pk:
            raise Conflict(
                "The assigned agent transfers or resolves rather than leaves.", code="assignee"
            )
        active = Participant.objects.filter(
            conversation=conversation, user_id=actor.user.pk, left_at__isnull=True
        ).exists()
        if not active:
            raise Conflict("You are not in this conversation.", code="not_participant")
        participant_leave(conversation=conversation, user_id=actor.user.pk, now=now)
        event_message_post(
            conversation=conversation,
            body=f"{agent_name(actor.user)} left the conversation.",
            data={"line": "left", "name": agent_name(actor.user)},
        )
        event_record(
            conversation=conversation,
            type="participant.left",
            actor=actor.label,
            reason=f"{agent_name(actor.user)} left",
        )
        # The leaver's consoles hear it too (they are no longer a participant).
        conversation_publish_all(
            conversation=conversation, extra_groups=[recipients.user_group(actor.user.pk)]
        )
    return conversation
