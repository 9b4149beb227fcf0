"""Shared pieces of the routing services: row locks, the agent load counter, publishing.

Lock order, everywhere in routing: the conversation row first (SELECT … FOR UPDATE), then
its entry and reservation rows (only ever written under that lock), then agent presence
rows, in ascending user id when there are two. Presence rows are always the last locks
taken, so two routers can wait on each other but never deadlock.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from django.db.models import F

from agents.models import AgentPresence
from chat import events, realtime, recipients
from chat.models import Conversation, Participant
from chat.names import user_name
from chat.payloads import conversation_payload
from chat.services import conversation_rev_bump, event_record
from routing.services.sql import participants_with_names

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("routing")

ROUTER = "router"


def lock_conversation(conversation_id: int, *, skip_locked: bool = False) -> Conversation | None:
    """Lock a conversation row (None if missing, or locked elsewhere with skip_locked)."""
    return (
        Conversation.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("customer", "queue", "assignee", "site")
        .filter(pk=conversation_id)
        .first()
    )


def load_take(*, user_id: int, now: dt.datetime, require_online: bool) -> bool:
    """Reserve one chat slot: a conditional update, so the slot exists or nothing happens.
    ``require_online`` also re-checks eligibility (the router's offers); a manual take or
    a transfer only needs the free slot."""
    qs = AgentPresence.objects.filter(user_id=user_id, load__lt=F("capacity"))
    fields: dict[str, Any] = {"load": F("load") + 1}
    if require_online:
        qs = qs.filter(status=AgentPresence.Status.ONLINE, live_until__gt=now)
        fields["last_offer_at"] = now
    return bool(qs.update(**fields))


def load_add(*, user_id: int) -> bool:
    """Take one slot whatever the capacity (an undone resolve: the agent was just working
    that chat, so it comes back even if the freed slot went to a new offer meanwhile)."""
    return bool(AgentPresence.objects.filter(user_id=user_id).update(load=F("load") + 1))


def load_release(*, user_id: int, now: dt.datetime) -> None:
    """Give back one slot (never below zero); the agent has been free since now."""
    AgentPresence.objects.filter(user_id=user_id, load__gt=0).update(
        load=F("load") - 1, idle_since=now
    )


def slots_in_order(*, take: int | None, release: int | None, now: dt.datetime,
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


def agent_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "nobody"
    return user_name(user)


def conversation_publish_all(
    *,
    conversation: Conversation,
    extra_groups: list[str] | None = None,
    also: list[tuple[list[str], dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """conversation.updated to the participants and the agents' lobby, after commit, with
    any ``also`` frames in the same trip to the layer. One participants query builds both
    the payload and the fan-out list; returns the payload so offers can carry it."""
    participants = list(
        Participant.objects.filter(conversation_id=conversation.pk).select_related(
            "customer", "user"
        )
    )
    conversation_rev_bump(conversation)
    payload = conversation_payload(conversation, participants)
    groups = recipients.conversation_groups(participants, extra=extra_groups or ())
    frame = events.frame(events.CONVERSATION_UPDATED, conversation=payload)
    realtime.publish_many_on_commit([(groups, frame), *(also or [])])
    return payload


def conversation_payload_fast(*, conversation: Conversation) -> tuple[dict[str, Any], list[str]]:
    """The payload of conversation.updated and its fan-out groups (one query). The caller
    holds the row lock, so the snapshot takes the next rev."""
    conversation_rev_bump(conversation)
    participants = getattr(conversation, "routing_participants", None)
    if participants is None:  # not read with the lock
        participants = participants_with_names(conversation.pk)
    for p in participants:
        if p.customer_id and p.customer_id == conversation.customer_id:
            conversation.customer = p.customer  # the payload names the customer
            break
    return conversation_payload(conversation, participants), recipients.conversation_groups(
        participants
    )


def decision_record(
    *, conversation: Conversation, reason: str, data: dict[str, Any], actor: str = ROUTER
) -> None:
    """Every routing decision goes on the conversation's timeline, with its reason."""
    event_record(
        conversation=conversation,
        type="routing.decision",
        reason=reason[:200],
        actor=actor,
        data=data,
    )


def participant_join(*, conversation: Conversation, user: AbstractBaseUser) -> Participant:
    participant, created = Participant.objects.get_or_create(
        conversation=conversation, user=user, defaults={"role": Participant.Role.AGENT}
    )
    if not created and participant.left_at is not None:
        Participant.objects.filter(pk=participant.pk).update(left_at=None)
        participant.left_at = None
    return participant


def participant_leave(*, conversation: Conversation, user_id: int, now: dt.datetime) -> None:
    Participant.objects.filter(
        conversation=conversation, user_id=user_id, left_at__isnull=True
    ).update(left_at=now)
