"""A supervisor's hand on the floor (admin): reassign a conversation, send it back to its
queue, withdraw an offer."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import transaction
from django.utils import timezone

from chat import recipients
from chat.actors import Actor
from chat.exceptions import Conflict, NotFound
from chat.models import Conversation
from routing.models import Queue, QueueEntry, Reservation
from routing.services.assign import assign_waiting_locked
from routing.services.checks import clean_note, require_supervisor, target_agent
from routing.services.core import conversation_publish_all, lock_conversation
from routing.services.dispatch import router_kick_entry
from routing.services.offers import offer_end_locked
from routing.services.release import requeue_locked
from routing.services.transfer import transfer_to_agent_locked

Status = Conversation.Status


def conversation_reassign(
    *, actor: Actor, conversation_id: int, to_agent_id: int, note: str = "",
    now: dt.datetime | None = None,
) -> Conversation:  # fmt: skip
    """A supervisor assigns an open conversation to an agent (the floor, admin): a waiting
    one directly, an assigned one as a transfer. The agent must be online with a live
    console and a free slot, as for the router's offers: a chat given to an agent who is
    away or offline showed the customer "You are chatting with Alice" while nobody was
    there (a walkthrough); no agent goes over capacity, not even on a supervisor's word."""
    require_supervisor(actor)
    note = clean_note(note)
    now = now or timezone.now()
    target = target_agent(to_agent_id)
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        if conversation is None:
            raise NotFound("No such conversation.")
        if conversation.status == Status.ASSIGNED:
            return transfer_to_agent_locked(
                conversation=conversation,
                target=target,
                actor=actor,
                note=note,
                now=now,
                require_online=True,
                via=QueueEntry.Via.REASSIGN,
            )
        if conversation.status not in Conversation.WAITING_STATUSES:
            raise Conflict("Only an open conversation is reassigned.", code="conversation_closed")
        return assign_waiting_locked(
            conversation=conversation,
            user=target,
            via=QueueEntry.Via.REASSIGN,
            actor_label=actor.label,
            now=now,
            require_online=True,
            reason=f"reassigned by a supervisor{': ' + note if note else ''}",
        )


def conversation_requeue(
    *, actor: Actor, conversation_id: int, reason: str = "", now: dt.datetime | None = None
) -> Conversation:
    """A supervisor sends an assigned or waiting conversation back to its queue."""
    require_supervisor(actor)
    now = now or timezone.now()
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        if conversation is None:
            raise NotFound("No such conversation.")
        if conversation.status not in (Status.ASSIGNED, *Conversation.WAITING_STATUSES):
            raise Conflict("Only an open conversation is re-queued.", code="conversation_closed")
        from_id = conversation.assignee_id if conversation.status == Status.ASSIGNED else None
        requeue_locked(
            conversation=conversation,
            reason=(reason or f"sent back to the queue by {actor.label}")[:200],
            now=now,
            exclude_agent_id=from_id,
            tell_customer=True,
        )
        conversation_publish_all(
            conversation=conversation,
            extra_groups=[recipients.user_group(from_id)] if from_id else [],
        )
        return conversation


def offer_withdraw(*, actor: Actor, reservation_id: int, now: dt.datetime | None = None) -> bool:
    """A supervisor withdraws an offer (admin); the conversation goes to the next agent."""
    require_supervisor(actor)
    now = now or timezone.now()
    reservation = Reservation.objects.filter(pk=reservation_id).first()
    if reservation is None:
        raise NotFound("No such offer.", code="offer_not_found")
    with transaction.atomic():
        conversation = lock_conversation(reservation.conversation_id)
        reservation = Reservation.objects.select_related("queue").get(pk=reservation.pk)
        done = offer_end_locked(
            conversation=conversation,
            reservation=reservation,
            state=Reservation.State.REVOKED,
            reason=f"withdrawn by {actor.label}",
            now=now,
        )
        if done:
            transaction.on_commit(partial(router_kick_entry, entry_id=reservation.entry_id))
        return done


def queue_close(*, actor: Actor, queue_id: int, closed: bool = True) -> Queue:
    """A supervisor closes a queue to new live chats (the dashboard): its waiting limit
    becomes 0, so a new arrival gets the offline fallback (leave a message, answered
    once the queue opens: the router holds it until then) while those already waiting
    are still served. Opening it again restores the dynamic limit (Little's law), and
    the sweep routes what was held."""
    require_supervisor(actor)
    with transaction.atomic():
        queue = Queue.objects.select_for_update().filter(pk=queue_id).first()
        if queue is None:
            raise NotFound("No such queue.", code="queue_not_found")
        if closed:
            queue.limit_mode, queue.max_waiting = Queue.LimitMode.FIXED, 0
        elif queue.limit_mode == Queue.LimitMode.FIXED and queue.max_waiting == 0:
            queue.limit_mode = Queue.LimitMode.DYNAMIC
        queue.save(update_fields=["limit_mode", "max_waiting"])
    return queue
