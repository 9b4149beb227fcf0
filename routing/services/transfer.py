"""Transfers: the assigned agent (or a supervisor) hands a conversation to another agent or
to a queue; the note travels with it."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from chat import realtime, recipients
from chat.actors import Actor
from chat.exceptions import Conflict, PermissionDenied, ValidationError
from chat.models import Conversation, Note
from chat.selectors import conversation_get_for_actor
from chat.services import event_message_post, event_record, note_create
from routing.models import QueueEntry
from routing.services.checks import active_queue, clean_id, clean_note, require_agent, target_agent
from routing.services.core import (
    agent_name,
    conversation_publish_all,
    lock_conversation,
    participant_join,
    participant_leave,
    slots_in_order,
)
from routing.services.dispatch import router_kick_agent
from routing.services.release import requeue_locked
from routing.services.router import default_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Conversation.Status


def transfer_to_agent_locked(
    *,
    conversation: Conversation,
    target: AbstractBaseUser,
    actor: Actor,
    note: str,
    now: dt.datetime,
    require_online: bool,
    via: str,
) -> Conversation:
    from_id = conversation.assignee_id
    if target.pk == from_id:
        raise Conflict("The conversation is already theirs.", code="same_agent")
    if not slots_in_order(take=target.pk, release=from_id, now=now, require_online=require_online):
        raise Conflict(
            f"{agent_name(target)} is not online or has no free chat slot.",
            code="agent_unavailable",
        )
    QueueEntry.objects.filter(
        conversation_id=conversation.pk, state=QueueEntry.State.ASSIGNED, closed_at__isnull=True
    ).update(closed_at=now)
    queue = conversation.queue
    if queue is None:
        queue = default_queue()
    QueueEntry.objects.create(
        conversation=conversation,
        queue=queue,
        state=QueueEntry.State.ASSIGNED,
        enqueued_at=now,
        sla_due_at=now,
        assigned_at=now,
        assigned_agent=target,
        via=via,
        reason=f"{via} by {actor.label}"[:200],
        note=note,
    )
    from_user = conversation.assignee
    conversation.assignee = target
    conversation.assigned_at = now
    conversation.save(update_fields=["assignee", "assigned_at", "updated_at"])
    if from_id:
        participant_leave(conversation=conversation, user_id=from_id, now=now)
    participant_join(conversation=conversation, user=target)
    who = _who(actor)
    event_message_post(
        conversation=conversation,
        body=f"{who} transferred the conversation to {agent_name(target)}.",
        data={"line": "transferred", "to": agent_name(target)},
    )
    event_record(
        conversation=conversation,
        type="routing.transfer",
        reason=f"{via} from {agent_name(from_user)} to {agent_name(target)}"[:200],
        actor=actor.label,
        data={"from": from_id, "to_agent": target.pk, "note": note, "via": via},
    )
    if note:  # the receiving agent reads it beside the transcript, the customer never
        note_create(
            conversation=conversation,
            kind=Note.Kind.TRANSFER,
            author=actor.user,
            body=note,
            data={"from_agent": from_id, "to_agent": target.pk, "to_queue": None},
        )
    extra = [recipients.user_group(from_id)] if from_id else []
    payload = conversation_publish_all(conversation=conversation, extra_groups=extra)
    realtime.publish_on_commit(
        [recipients.user_group(target.pk), *extra],
        {
            "type": "conversation.transferred",
            "conversation": payload,
            "from_agent": from_id,
            "to_agent": target.pk,
            "to_queue": None,
            "by": who,
            "note": note,
        },
    )
    if from_id:
        transaction.on_commit(partial(router_kick_agent, user_id=from_id))
    return conversation


def conversation_transfer(
    *,
    actor: Actor,
    conversation_id: Any,
    to_agent_id: Any = None,
    to_queue_id: Any = None,
    note: Any = "",
    now: dt.datetime | None = None,
) -> Conversation:
    """The assigned agent (or a supervisor) hands a conversation to another agent, who
    must be online with a free slot, or to a queue, where the router takes over. The
    note travels with it (on the timeline, and in the frame or the next offer)."""
    if actor.kind != "service":  # an API key with conversations:write acts as a supervisor
        require_agent(actor)
    conversation_id = clean_id(conversation_id, "conversation")
    if conversation_id is None:
        raise ValidationError("conversation is required.", field="conversation")
    to_agent_id = clean_id(to_agent_id, "to_agent")
    to_queue_id = clean_id(to_queue_id, "to_queue")
    if (to_agent_id is None) == (to_queue_id is None):
        raise ValidationError("Give exactly one of to_agent or to_queue.", field="to_agent")
    note = clean_note(note)
    now = now or timezone.now()
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    target = target_agent(to_agent_id) if to_agent_id else None
    queue = active_queue(to_queue_id) if to_queue_id else None
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.status != Status.ASSIGNED:
            raise Conflict("Only an assigned conversation is transferred.", code="not_assigned")
        if (
            actor.kind == "agent"
            and conversation.assignee_id != actor.user.pk
            and not actor.is_supervisor
        ):
            raise PermissionDenied("Only the assigned agent or a supervisor transfers it.")
        if target is not None:
            return transfer_to_agent_locked(
                conversation=conversation,
                target=target,
                actor=actor,
                note=note,
                now=now,
                require_online=True,
                via=QueueEntry.Via.TRANSFER,
            )
        from_id = conversation.assignee_id
        who = _who(actor)
        requeue_locked(
            conversation=conversation,
            reason=f"transferred to {queue.name} by {who}",
            now=now,
            queue=queue,
            note=note,
            exclude_agent_id=from_id,
        )
        event_message_post(
            conversation=conversation,
            body=f"{who} transferred the conversation to {queue.name}.",
            data={"line": "transferred_team"},
        )
        event_record(
            conversation=conversation,
            type="routing.transfer",
            reason=f"transfer to queue {queue.name}"[:200],
            actor=actor.label,
            data={"from": from_id, "to_queue": queue.pk, "note": note, "via": "transfer"},
        )
        if note:
            note_create(
                conversation=conversation,
                kind=Note.Kind.TRANSFER,
                author=actor.user,
                body=note,
                data={
                    "from_agent": from_id,
                    "to_agent": None,
                    "to_queue": {"id": queue.pk, "name": queue.name},
                },
            )
        payload = conversation_publish_all(
            conversation=conversation, extra_groups=[recipients.user_group(from_id)]
        )
        realtime.publish_on_commit(
            [recipients.user_group(from_id)],
            {
                "type": "conversation.transferred",
                "conversation": payload,
                "from_agent": from_id,
                "to_agent": None,
                "to_queue": {"id": queue.pk, "name": queue.name},
                "by": who,
                "note": note,
            },
        )
        return conversation


def _who(actor: Actor) -> str:
    return agent_name(actor.user) if actor.kind == "agent" else actor.api_key.name
