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
        if conversation.status == Status.BOT:
            raise Conflict(
                "It is with the bot: the bot hands it to the queue when it needs a person.",
                code="conversation_with_bot",
            )
        if conversation.status not in (Status.ASSIGNED, *Conversation.WAITING_STATUSES):
            raise Conflict("It is closed: only an open conversation is re-queued.",
                           code="conversation_closed")  # fmt: skip
        if conversation.status == Status.QUEUED:
            # Nothing to send back; a new entry would only cost it its place in line.
            raise Conflict("It is already waiting in the queue.", code="already_queued")
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
            # "The next agent gets it": not this one again, as a decline would not be (the
            # entry's exclusion, which both routing paths read).
            QueueEntry.objects.filter(pk=reservation.entry_id).update(
                excluded_agent_id=reservation.agent_id
            )
            transaction.on_commit(partial(router_kick_entry, entry_id=reservation.entry_id))
        return done


def queue_close(*, actor: Actor, queue_id: int, closed: bool = True) -> Queue:
    """A supervisor closes a queue to new live chats (the dashboard): its waiting limit
    becomes fixed at 0, so a new arrival gets the offline fallback (leave a message,
    answered once the queue opens: the router holds it until then) while those already
    waiting are still served. Opening it again restores exactly the limit Close replaced
    (kept on the queue: Close and Open used to leave "fixed 0" and then "dynamic" in place
    of a configured "no limit" or "fixed 30"). A queue configured fixed at 0 in admin
    reads as closed too (Queue.closed_to_new); Open, with nothing kept, gives it the
    dynamic limit. Closing a closed queue, or opening an open one, changes nothing."""
    require_supervisor(actor)
    fields = ["limit_mode", "max_waiting", "reopen_limit_mode", "reopen_max_waiting"]
    with transaction.atomic():
        queue = Queue.objects.select_for_update().filter(pk=queue_id).first()
        if queue is None:
            raise NotFound("No such queue.", code="queue_not_found")
        if closed and not queue.closed_to_new:
            queue.reopen_limit_mode, queue.reopen_max_waiting = queue.limit_mode, queue.max_waiting
            queue.limit_mode, queue.max_waiting = Queue.LimitMode.FIXED, 0
        elif not closed and queue.closed_to_new:
            if queue.reopen_limit_mode:
                queue.limit_mode = queue.reopen_limit_mode
                queue.max_waiting = queue.reopen_max_waiting or 0
            else:
                queue.limit_mode = Queue.LimitMode.DYNAMIC
            queue.reopen_limit_mode, queue.reopen_max_waiting = "", None
        elif not closed and queue.reopen_limit_mode:
            # Opened in admin meanwhile (a new limit saved): that limit stays.
            queue.reopen_limit_mode, queue.reopen_max_waiting = "", None
        else:
            return queue
        queue.save(update_fields=fields)
    return queue
