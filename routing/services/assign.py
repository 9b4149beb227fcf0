"""A waiting conversation assigned directly, beside the router's offers: an agent's take
from the waiting list (and a supervisor's reassignment, through assign_waiting_locked)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from agents.services import agent_presence_ensure
from chat.actors import Actor
from chat.exceptions import Conflict, NotFound
from chat.models import Conversation
from chat.selectors import conversation_get_for_actor
from chat.services import conversation_transition, event_message_post
from routing.models import QueueEntry, Reservation
from routing.services.checks import require_agent
from routing.services.core import (
    agent_name,
    conversation_publish_all,
    decision_record,
    lock_conversation,
    participant_join,
    slots_in_order,
)
from routing.services.dispatch import router_kick_agent
from routing.services.offers import _publish_outcome
from routing.services.router import default_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Conversation.Status


def assign_waiting_locked(
    *,
    conversation: Conversation,
    user: AbstractBaseUser,
    via: str,
    actor_label: str,
    now: dt.datetime,
    require_online: bool,
    reason: str,
) -> Conversation:
    """Assign a waiting (queued/offered) locked conversation to ``user`` directly, taking
    a slot of theirs and withdrawing an open offer to someone else."""
    reservation = Reservation.objects.filter(
        conversation_id=conversation.pk, state=Reservation.State.OFFERED
    ).first()
    mine = reservation is not None and reservation.agent_id == user.pk
    if mine:
        # Their own offer: the slot is already reserved; it simply becomes the chat.
        Reservation.objects.filter(pk=reservation.pk).update(
            state=Reservation.State.ACCEPTED, decided_at=now, end_reason=reason[:200]
        )
        reservation.state = Reservation.State.ACCEPTED
    else:
        other = reservation.agent_id if reservation is not None else None
        if other is not None:
            # Close the other agent's offer without touching their row yet; the two
            # presence rows are then updated in id order.
            Reservation.objects.filter(pk=reservation.pk).update(
                state=Reservation.State.REVOKED, decided_at=now, end_reason=reason[:200]
            )
            reservation.state = Reservation.State.REVOKED
        if not slots_in_order(take=user.pk, release=other, now=now, require_online=require_online):
            raise Conflict(
                f"{agent_name(user)} has no free chat slot (or is not available).",
                code="at_capacity",
            )
    entry = QueueEntry.objects.filter(
        conversation_id=conversation.pk, state__in=QueueEntry.OPEN_STATES
    ).first()
    if entry is None:  # a conversation that never went through the router (older data)
        queue = conversation.queue or conversation.site.default_queue
        if queue is None:
            queue = default_queue()
        entry = QueueEntry.objects.create(
            conversation=conversation,
            queue=queue,
            enqueued_at=conversation.queued_at or now,
            sla_due_at=queue.sla_due(conversation.queued_at or now),
            reason="assigned without a queue entry",
        )
    QueueEntry.objects.filter(pk=entry.pk).update(
        state=QueueEntry.State.ASSIGNED, assigned_at=now, assigned_agent=user, via=via
    )
    conversation_transition(
        conversation=conversation,
        to_status=Status.ASSIGNED,
        reason=reason[:200],
        actor=actor_label,
        assignee=user,
        assigned_at=now,
    )
    participant_join(conversation=conversation, user=user)
    event_message_post(
        conversation=conversation,
        body=f"{agent_name(user)} joined the conversation.",
        data={"line": "joined", "name": agent_name(user)},
    )
    decision_record(
        conversation=conversation,
        reason=f"{reason}: assigned to {agent_name(user)}",
        actor=actor_label,
        data={"outcome": via, "agent": user.pk, "entry": entry.pk, "queue": entry.queue_id,
              "withdrawn_offer": reservation.pk if reservation is not None and not mine else None},
    )  # fmt: skip
    payload = conversation_publish_all(conversation=conversation)
    if reservation is not None:
        _publish_outcome(reservation, payload)
        if not mine:
            transaction.on_commit(partial(router_kick_agent, user_id=reservation.agent_id))
    return conversation


def _already_taken() -> Conflict:
    return Conflict("Someone else has taken this conversation.", code="already_taken")


def conversation_assign(
    *, actor: Actor, conversation_id: int, now: dt.datetime | None = None
) -> Conversation:
    """An agent takes a waiting conversation from the list (a manual pick, beside the
    offers). Exactly one agent wins (the status check under the row lock), and the taker
    needs a free chat slot (a conditional update), like any offer."""
    require_agent(actor)
    try:
        conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    except NotFound:
        # The waiting room is visible to every agent, so a conversation that left it
        # between the agent's list and this click is "taken", not "missing": the loser
        # of the race must get the same answer whether it lost before or at the lock.
        if (
            Conversation.objects.filter(pk=conversation_id, queued_at__isnull=False)
            .exclude(status__in=Conversation.WAITING_STATUSES)
            .exists()
        ):
            raise _already_taken() from None
        raise
    now = now or timezone.now()
    agent_presence_ensure(user=actor.user)
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.status == Status.ASSIGNED and conversation.assignee_id == actor.user.pk:
            return conversation  # a retry by the winner
        if conversation.status not in Conversation.WAITING_STATUSES:
            raise _already_taken()
        return assign_waiting_locked(
            conversation=conversation,
            user=actor.user,
            via=QueueEntry.Via.TAKE,
            actor_label=actor.label,
            now=now,
            require_online=False,
            reason="taken from the waiting list",
        )
