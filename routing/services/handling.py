"""Handling conversations around the router: a manual take, transfers, a supervisor's
reassignment, sending back to the queue, and the ends of a conversation (resolved,
abandoned, customer left) that give an agent's slot back."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from agents.models import AgentProfile
from agents.services import agent_presence_ensure
from chat import realtime
from chat.actors import Actor
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import Conversation
from chat.selectors import conversation_get_for_actor, user_is_agent
from chat.services import conversation_transition, event_message_post, event_record
from routing.models import Queue, QueueEntry, Reservation
from routing.services.core import (
    agent_name,
    conversation_publish_all,
    decision_record,
    load_release,
    load_take,
    lock_conversation,
    participant_join,
    participant_leave,
)
from routing.services.dispatch import router_kick_agent, router_kick_entry
from routing.services.offers import _publish_outcome, entry_close_locked, offer_end_locked
from routing.services.router import default_queue, enqueue_locked

Status = Conversation.Status


def _require_agent(actor: Actor) -> None:
    if actor.kind != "agent" or not user_is_agent(actor.user):
        raise PermissionDenied("Only agents do this.")


def _slots_in_order(*, take: int | None, release: int | None, now: dt.datetime,
                    require_online: bool) -> bool:  # fmt: skip
    """Give one agent's slot back and take another's, in ascending user id order (the
    presence-row lock order that keeps two such transactions from deadlocking)."""
    steps = sorted(
        [(uid, kind) for uid, kind in ((take, "take"), (release, "release")) if uid is not None]
    )
    for user_id, kind in steps:
        if kind == "release":
            load_release(user_id=user_id, now=now)
        elif not load_take(user_id=user_id, now=now, require_online=require_online):
            return False
    return True


def _assign_waiting_locked(
    *,
    conversation: Conversation,
    user,
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
        if not _slots_in_order(take=user.pk, release=other, now=now, require_online=require_online):
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
            sla_due_at=(conversation.queued_at or now) + dt.timedelta(seconds=queue.sla_seconds),
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
        conversation=conversation, body=f"{agent_name(user)} joined the conversation."
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
    _require_agent(actor)
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
        return _assign_waiting_locked(
            conversation=conversation,
            user=actor.user,
            via=QueueEntry.Via.TAKE,
            actor_label=actor.label,
            now=now,
            require_online=False,
            reason="taken from the waiting list",
        )


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


def requeue_locked(
    *,
    conversation: Conversation,
    reason: str,
    now: dt.datetime,
    queue: Queue | None = None,
    note: str = "",
    exclude_agent_id: int | None = None,
    sticky_agent_id: int | None = None,
) -> QueueEntry:
    """Send a locked conversation back to a queue; its agent (if any) leaves and gets
    the slot back."""
    from_id = conversation.assignee_id if conversation.status == Status.ASSIGNED else None
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
    )


def _clean_note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or len(note) > 1000:
        raise ValidationError("note must be text of at most 1000 characters.", field="note")
    return note.strip()


def _clean_id(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{field} must be a positive integer.", field=field)
    return value


def _target_agent(user_id: int):
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not AgentProfile.objects.filter(user_id=user_id).exists():
        raise NotFound("No such agent.", code="agent_not_found")
    agent_presence_ensure(user=user)
    return user


def _transfer_to_agent_locked(
    *,
    conversation: Conversation,
    target,
    actor: Actor,
    note: str,
    now: dt.datetime,
    require_online: bool,
    via: str,
) -> Conversation:
    from_id = conversation.assignee_id
    if target.pk == from_id:
        raise Conflict("The conversation is already theirs.", code="same_agent")
    if not _slots_in_order(take=target.pk, release=from_id, now=now, require_online=require_online):
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
    who = agent_name(actor.user)
    event_message_post(
        conversation=conversation,
        body=f"{who} transferred the conversation to {agent_name(target)}.",
    )
    event_record(
        conversation=conversation,
        type="routing.transfer",
        reason=f"{via} from {agent_name(from_user)} to {agent_name(target)}"[:200],
        actor=actor.label,
        data={"from": from_id, "to_agent": target.pk, "note": note, "via": via},
    )
    extra = [realtime.user_group(from_id)] if from_id else []
    payload = conversation_publish_all(conversation=conversation, extra_groups=extra)
    realtime.publish_on_commit(
        [realtime.user_group(target.pk), *extra],
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
    _require_agent(actor)
    conversation_id = _clean_id(conversation_id, "conversation")
    if conversation_id is None:
        raise ValidationError("conversation is required.", field="conversation")
    to_agent_id = _clean_id(to_agent_id, "to_agent")
    to_queue_id = _clean_id(to_queue_id, "to_queue")
    if (to_agent_id is None) == (to_queue_id is None):
        raise ValidationError("Give exactly one of to_agent or to_queue.", field="to_agent")
    note = _clean_note(note)
    now = now or timezone.now()
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    target = _target_agent(to_agent_id) if to_agent_id else None
    queue = None
    if to_queue_id:
        queue = Queue.objects.filter(pk=to_queue_id, is_active=True).first()
        if queue is None:
            raise NotFound("No such queue.", code="queue_not_found")
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.status != Status.ASSIGNED:
            raise Conflict("Only an assigned conversation is transferred.", code="not_assigned")
        if conversation.assignee_id != actor.user.pk and not actor.is_supervisor:
            raise PermissionDenied("Only the assigned agent or a supervisor transfers it.")
        if target is not None:
            return _transfer_to_agent_locked(
                conversation=conversation,
                target=target,
                actor=actor,
                note=note,
                now=now,
                require_online=True,
                via=QueueEntry.Via.TRANSFER,
            )
        from_id = conversation.assignee_id
        who = agent_name(actor.user)
        requeue_locked(
            conversation=conversation,
            reason=f"transferred to {queue.name} by {who}",
            now=now,
            queue=queue,
            note=note,
            exclude_agent_id=from_id,
        )
        event_message_post(
            conversation=conversation, body=f"{who} transferred the conversation to {queue.name}."
        )
        event_record(
            conversation=conversation,
            type="routing.transfer",
            reason=f"transfer to queue {queue.name}"[:200],
            actor=actor.label,
            data={"from": from_id, "to_queue": queue.pk, "note": note, "via": "transfer"},
        )
        payload = conversation_publish_all(
            conversation=conversation, extra_groups=[realtime.user_group(from_id)]
        )
        realtime.publish_on_commit(
            [realtime.user_group(from_id)],
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


def _require_supervisor(actor: Actor) -> None:
    if actor.kind != "agent" or not actor.is_supervisor:
        raise PermissionDenied("Only a supervisor does this.")


def conversation_reassign(
    *, actor: Actor, conversation_id: int, to_agent_id: int, note: str = "",
    now: dt.datetime | None = None,
) -> Conversation:  # fmt: skip
    """A supervisor assigns an open conversation to an agent (from admin): a waiting one
    directly, an assigned one as a transfer. The agent needs a free slot (no agent goes
    over capacity, not even on a supervisor's word) but need not be online."""
    _require_supervisor(actor)
    note = _clean_note(note)
    now = now or timezone.now()
    target = _target_agent(to_agent_id)
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        if conversation is None:
            raise NotFound("No such conversation.")
        if conversation.status == Status.ASSIGNED:
            return _transfer_to_agent_locked(
                conversation=conversation,
                target=target,
                actor=actor,
                note=note,
                now=now,
                require_online=False,
                via=QueueEntry.Via.REASSIGN,
            )
        if conversation.status not in Conversation.WAITING_STATUSES:
            raise Conflict("Only an open conversation is reassigned.", code="conversation_closed")
        return _assign_waiting_locked(
            conversation=conversation,
            user=target,
            via=QueueEntry.Via.REASSIGN,
            actor_label=actor.label,
            now=now,
            require_online=False,
            reason=f"reassigned by a supervisor{': ' + note if note else ''}",
        )


def conversation_requeue(
    *, actor: Actor, conversation_id: int, reason: str = "", now: dt.datetime | None = None
) -> Conversation:
    """A supervisor sends an assigned or waiting conversation back to its queue."""
    _require_supervisor(actor)
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
        )
        conversation_publish_all(
            conversation=conversation,
            extra_groups=[realtime.user_group(from_id)] if from_id else [],
        )
        return conversation


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
        event_message_post(conversation=conversation, body="The customer left the queue.")
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
            conversation=conversation, body="Conversation closed: the customer left."
        )
        conversation_publish_all(conversation=conversation)
    return True


def offer_withdraw(*, actor: Actor, reservation_id: int, now: dt.datetime | None = None) -> bool:
    """A supervisor withdraws an offer (admin); the conversation goes to the next agent."""
    _require_supervisor(actor)
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
