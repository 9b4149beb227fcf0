"""Offers (reservations): accept, decline, expire, revoke.

Every state change is a conditional update from ``offered`` under the conversation's row
lock, so exactly one of them wins; the agent's slot was reserved when the offer was made,
so accepting never takes an agent over capacity.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.models import AgentPresence
from agents.services import agent_miss_record
from chat import realtime, recipients
from chat.actors import Actor
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import Conversation
from chat.selectors import user_is_agent
from chat.services import conversation_transition, event_message_post
from routing.models import QueueEntry, Reservation
from routing.payloads import reservation_payload
from routing.services.core import (
    ROUTER,
    agent_name,
    conversation_payload_fast,
    load_release,
    lock_conversation,
    logger,
    participant_join,
)
from routing.services.dispatch import router_kick_agent, router_kick_entry

OFFERED = Reservation.State.OFFERED


def _frame(state: str, payload: dict[str, Any]) -> dict[str, Any]:
    # Literal types, one per outcome, so the protocol reference can list each of them.
    if state == Reservation.State.ACCEPTED:
        return {"type": "reservation.accepted", "reservation": payload}
    if state == Reservation.State.DECLINED:
        return {"type": "reservation.declined", "reservation": payload}
    if state == Reservation.State.EXPIRED:
        return {"type": "reservation.expired", "reservation": payload}
    return {"type": "reservation.revoked", "reservation": payload}


def _outcome_frame(
    reservation: Reservation, conversation_payload: dict[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """To every console of the agent (the other tabs drop the offer too)."""
    payload = reservation_payload(reservation, conversation=conversation_payload)
    return [recipients.user_group(reservation.agent_id)], _frame(reservation.state, payload)


def _publish_outcome(reservation: Reservation, conversation_payload: dict[str, Any]) -> None:
    realtime.publish_many_on_commit([_outcome_frame(reservation, conversation_payload)])


def offer_end_locked(
    *,
    conversation: Conversation,
    reservation: Reservation,
    state: str,
    reason: str,
    now: dt.datetime,
    requeue: bool = True,
    publish: bool = True,
) -> bool:
    """End an open offer on a locked conversation: give the agent's slot back and, with
    ``requeue``, put the conversation back in line. False if the offer was not open."""
    won = Reservation.objects.filter(pk=reservation.pk, state=OFFERED).update(
        state=state, decided_at=now, end_reason=reason[:200]
    )
    if not won:
        return False
    reservation.state, reservation.decided_at, reservation.end_reason = state, now, reason[:200]
    load_release(user_id=reservation.agent_id, now=now)
    if state == Reservation.State.EXPIRED and agent_miss_record(
        user_id=reservation.agent_id, now=now
    ):
        agent_offers_revoke_on_commit(
            user_id=reservation.agent_id,
            reason="the agent was set away after missed offers",
            now=now,
        )
    elif state == Reservation.State.DECLINED:
        # An explicit answer shows the agent is there: the run of misses is over.
        AgentPresence.objects.filter(user_id=reservation.agent_id).update(missed_in_a_row=0)
    if requeue:
        QueueEntry.objects.filter(pk=reservation.entry_id, state=QueueEntry.State.OFFERED).update(
            state=QueueEntry.State.WAITING
        )
        if conversation.status == Conversation.Status.OFFERED:
            conversation_transition(
                conversation=conversation,
                to_status=Conversation.Status.QUEUED,
                reason=f"offer {state}: {reason}"[:200],
                actor=ROUTER,
                data={"reservation": reservation.pk, "agent": reservation.agent_id, "state": state},
            )
    if publish:
        payload, groups = conversation_payload_fast(conversation=conversation)
        realtime.publish_many_on_commit(
            [
                _outcome_frame(reservation, payload),
                (groups, {"type": "conversation.updated", "conversation": payload}),
            ]
        )
    return True


def entry_close_locked(
    *, conversation: Conversation, state: str, now: dt.datetime, reason: str
) -> QueueEntry | None:
    """Close the conversation's open entry (it leaves the queue: resolved, abandoned,
    taken, transferred), revoking its open offer. Returns the closed entry, if any."""
    entry = QueueEntry.objects.filter(
        conversation_id=conversation.pk, state__in=QueueEntry.OPEN_STATES
    ).first()
    if entry is None:
        return None
    reservation = Reservation.objects.filter(entry_id=entry.pk, state=OFFERED).first()
    if reservation is not None:
        offer_end_locked(
            conversation=conversation,
            reservation=reservation,
            state=Reservation.State.REVOKED,
            reason=reason,
            now=now,
            requeue=False,
            publish=False,
        )
        _publish_outcome(reservation, {"id": conversation.pk})
        transaction.on_commit(partial(router_kick_agent, user_id=reservation.agent_id))
    QueueEntry.objects.filter(pk=entry.pk).update(state=state, closed_at=now)
    entry.state, entry.closed_at = state, now
    return entry


def _reservation_for_actor(*, actor: Actor, reservation_id: Any) -> Reservation:
    if actor.kind != "agent" or not user_is_agent(actor.user):
        raise PermissionDenied("Only agents answer offers.")
    if isinstance(reservation_id, bool) or not isinstance(reservation_id, int):
        raise ValidationError("reservation must be an integer.", field="reservation")
    reservation = Reservation.objects.filter(pk=reservation_id, agent_id=actor.user.pk).first()
    if reservation is None:  # someone else's offer looks the same as a missing one
        raise NotFound("No such offer.", code="offer_not_found")
    return reservation


def _closed_offer_error(state: str) -> Conflict:
    return Conflict(f"This offer was {state}.", code=f"offer_{state}")


def reservation_accept(
    *, actor: Actor, reservation_id: Any, now: dt.datetime | None = None
) -> Conversation:
    """The agent takes the offered conversation. Idempotent for the winner."""
    now = now or timezone.now()
    reservation = _reservation_for_actor(actor=actor, reservation_id=reservation_id)
    late = False
    with transaction.atomic():
        conversation = lock_conversation(reservation.conversation_id)
        reservation = Reservation.objects.select_related("queue").get(pk=reservation.pk)
        if reservation.state == Reservation.State.ACCEPTED:
            return conversation  # a retry by the winner
        if reservation.state != OFFERED:
            raise _closed_offer_error(reservation.state)
        if reservation.expires_at <= now:
            late = True
        else:
            won = Reservation.objects.filter(pk=reservation.pk, state=OFFERED).update(
                state=Reservation.State.ACCEPTED, decided_at=now, end_reason="accepted"
            )
            if not won:  # cannot happen under the conversation lock; never assign twice
                raise _closed_offer_error(Reservation.State.REVOKED)
            reservation.state, reservation.decided_at = Reservation.State.ACCEPTED, now
            user = actor.user
            conversation_transition(
                conversation=conversation,
                to_status=Conversation.Status.ASSIGNED,
                reason=f"{agent_name(user)} accepted the offer"[:200],
                actor=actor.label,
                data={"reservation": reservation.pk},
                assignee=user,
                assigned_at=now,
            )
            QueueEntry.objects.filter(pk=reservation.entry_id).update(
                state=QueueEntry.State.ASSIGNED,
                assigned_at=now,
                assigned_agent=user,
                via=QueueEntry.Via.OFFER,
            )
            AgentPresence.objects.filter(user_id=user.pk).update(missed_in_a_row=0)
            participant_join(conversation=conversation, user=user)
            event_message_post(
                conversation=conversation,
                body=f"{agent_name(user)} joined the conversation.",
                data={"line": "joined", "name": agent_name(user)},
            )
            payload, groups = conversation_payload_fast(conversation=conversation)
            realtime.publish_many_on_commit(
                [
                    _outcome_frame(reservation, payload),
                    (groups, {"type": "conversation.updated", "conversation": payload}),
                ]
            )
            return conversation
    # Past its expiry but not swept yet: expire it now, so the next agent gets it at once.
    if late:
        reservation_expire(reservation_id=reservation.pk, now=now)
    raise _closed_offer_error(Reservation.State.EXPIRED)


def reservation_decline(
    *, actor: Actor, reservation_id: Any, reason: Any = "", now: dt.datetime | None = None
) -> Reservation:
    """The agent passes; the conversation goes to the next agent at once."""
    now = now or timezone.now()
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason) > 200:
        raise ValidationError("reason must be text of at most 200 characters.", field="reason")
    reservation = _reservation_for_actor(actor=actor, reservation_id=reservation_id)
    with transaction.atomic():
        conversation = lock_conversation(reservation.conversation_id)
        reservation = Reservation.objects.select_related("queue").get(pk=reservation.pk)
        if reservation.state == Reservation.State.DECLINED:
            return reservation
        if reservation.state != OFFERED:
            raise _closed_offer_error(reservation.state)
        offer_end_locked(
            conversation=conversation,
            reservation=reservation,
            state=Reservation.State.DECLINED,
            reason=reason.strip() or "declined by the agent",
            now=now,
        )
        transaction.on_commit(partial(router_kick_entry, entry_id=reservation.entry_id))
        transaction.on_commit(partial(router_kick_agent, user_id=reservation.agent_id))
    return reservation


def reservation_expire(*, reservation_id: int, now: dt.datetime | None = None) -> bool:
    """Expire one offer whose time is up (a Celery sweep calls this; idempotent). The
    miss is counted, and the conversation goes to the next agent."""
    explicit_now = now
    now = now or timezone.now()
    found = Reservation.objects.filter(pk=reservation_id, state=OFFERED, expires_at__lte=now)
    conversation_id = found.values_list("conversation_id", flat=True).first()
    if conversation_id is None:
        return False
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        reservation = (
            Reservation.objects.select_related("queue")
            .filter(pk=reservation_id, state=OFFERED, expires_at__lte=now)
            .first()
        )
        if reservation is None:  # accepted, declined or expired by someone else meanwhile
            return False
        ended = offer_end_locked(
            conversation=conversation,
            reservation=reservation,
            state=Reservation.State.EXPIRED,
            reason=f"not answered within {reservation.queue.offer_timeout_seconds} s",
            now=now,
        )
        transaction.on_commit(
            partial(router_kick_entry, entry_id=reservation.entry_id, now=explicit_now)
        )
    return ended


def agent_offers_revoke(*, user_id: int, reason: str, now: dt.datetime | None = None) -> int:
    """Withdraw an agent's open offers (they went away, offline, or lost their console);
    each conversation goes to the next agent. One transaction per offer."""
    explicit_now = now
    now = now or timezone.now()
    open_offers = list(
        Reservation.objects.filter(agent_id=user_id, state=OFFERED).values_list(
            "pk", "conversation_id"
        )[:100]
    )
    revoked = 0
    for reservation_id, conversation_id in open_offers:
        with transaction.atomic():
            conversation = lock_conversation(conversation_id)
            reservation = (
                Reservation.objects.select_related("queue")
                .filter(pk=reservation_id, state=OFFERED)
                .first()
            )
            if reservation is None or conversation is None:
                continue
            if offer_end_locked(
                conversation=conversation,
                reservation=reservation,
                state=Reservation.State.REVOKED,
                reason=reason,
                now=now,
            ):
                revoked += 1
                transaction.on_commit(
                    partial(router_kick_entry, entry_id=reservation.entry_id, now=explicit_now)
                )
    return revoked


def agent_offers_revoke_on_commit(*, user_id: int, reason: str, now: dt.datetime | None) -> None:
    """Hand an absent agent's offers on once the caller's change commits: the presence row
    is the last lock a transaction takes, so the conversations are locked afterwards, one
    transaction each. Never raises: the offer sweeper expires what this misses."""

    def revoke() -> None:
        try:
            agent_offers_revoke(user_id=user_id, reason=reason, now=now)
        except Exception:
            logger.exception("revoking the offers of agent %s failed", user_id)

    transaction.on_commit(revoke)


def offers_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Expire every offer past its time (state in the database drives the timers, so a
    worker restarted mid-offer loses nothing: the next sweep catches up)."""
    now = now or timezone.now()
    due = list(
        Reservation.objects.filter(state=OFFERED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in due if reservation_expire(reservation_id=pk, now=now))
