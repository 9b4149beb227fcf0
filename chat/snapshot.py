"""What a socket's hello carries: the actor's conversations, as conversation_payload.

A widget's is read with statements compiled once (chat/compiled.py) from the same
querysets as conversation_list_for_actor's: in a reconnect storm every visitor's socket
reads it at once, and compiling the queryset cost more than running it. An agent's (one
console per agent, and its snapshot is larger) is read by the plain querysets.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chat import selectors
from chat.actors import Actor
from chat.compiled import CompiledQuery
from chat.models import Customer
from chat.payloads import conversation_payload
from chat.pipeline.health import translation_status

SNAPSHOT_LIMIT = 100  # conversation_list_for_actor's default


def _as_customer(customer: int) -> Actor:
    return Actor.for_customer(Customer(pk=customer))


_customer_conversations = CompiledQuery(
    lambda customer: selectors.conversation_list_queryset(
        actor=_as_customer(customer), limit=SNAPSHOT_LIMIT
    ),
    "customer",
)
# The participants of every conversation of the customer's, in one statement whatever
# their number (an ``__in`` of the listed ids would be a new statement for each count).
_customer_participants = CompiledQuery(
    lambda customer: selectors.participants_queryset().filter(conversation__customer_id=customer),
    "customer",
)


def session_snapshot(*, actor: Actor) -> dict[str, Any]:
    """What a socket sends in its hello frame: the actor's conversations (a customer's
    all, an agent's open ones) and whether translation is on."""
    if actor.kind == "customer":
        conversations = customer_conversation_payloads(customer_id=actor.customer.pk)
    else:
        conversations = [
            conversation_payload(c, list(c.participants.all()))
            for c in selectors.conversation_list_for_actor(actor=actor)
        ]
    # Says whether translation is on, so a client can tell "off" from "not yet".
    return {"conversations": conversations, "translation": translation_status()}


def customer_conversation_payloads(*, customer_id: int) -> list[dict[str, Any]]:
    """conversation_list_for_actor's conversations of a customer, as payloads: the same
    rows, by statements compiled once."""
    conversations = _customer_conversations(customer=customer_id)
    if not conversations:
        return []  # most idle widgets: one statement
    participants = defaultdict(list)
    for p in _customer_participants(customer=customer_id):
        participants[p.conversation_id].append(p)
    return [conversation_payload(c, participants[c.pk]) for c in conversations]
