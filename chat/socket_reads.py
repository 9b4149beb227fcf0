"""What a socket reads when it connects and resyncs: the hello's conversations
(conversation_payload) and a resume's page of messages.

A widget's are read with statements compiled once (chat/compiled.py) from the same
querysets as the plain selectors' (conversation_list_for_actor, resume_page): in a
reconnect storm every visitor's socket reads its hello at once, and those whose
conversation moved on resume too, and compiling the querysets cost more CPU than running
them. An agent's (one console per agent, and its snapshot is larger) are read by the
plain selectors. tests/chat/test_compiled.py holds both paths equal.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chat import selectors
from chat.actors import Actor
from chat.compiled import CompiledQuery
from chat.exceptions import NotFound
from chat.models import Customer, MessageTranslation
from chat.payloads import conversation_payload, message_payload
from chat.pipeline.engines import engine_name
from chat.pipeline.health import translation_status
from chat.pipeline.selectors import viewer_of, viewer_participants

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


# --- resume -----------------------------------------------------------------------------
_conversation = CompiledQuery(
    lambda customer, conversation: selectors.conversation_for_actor_queryset(
        actor=_as_customer(customer)
    ).filter(pk=conversation)[:1],
    "customer",
    "conversation",
)
_conversation_participants = CompiledQuery(
    lambda conversation: selectors.participants_queryset().filter(conversation_id=conversation),
    "conversation",
)
# A page's translations by its seqs, not by the messages' ids (one statement for any count).
_translations = CompiledQuery(
    lambda conversation, after, upto: MessageTranslation.objects.filter(
        message__conversation_id=conversation, message__seq__gt=after, message__seq__lte=upto
    ),
    "conversation",
    "after",
    "upto",
)
_viewer = CompiledQuery(
    lambda conversation, customer: (
        viewer_participants(conversation_id=conversation)
        .filter(customer_id=customer)
        .order_by("pk")[:1]
    ),  # viewer_for_actor's .first()
    "conversation",
    "customer",
)
_messages_by_limit: dict[int, CompiledQuery] = {}  # the page size is part of the SQL


def _messages(limit: int) -> CompiledQuery:
    query = _messages_by_limit.get(limit)
    if query is None:
        query = _messages_by_limit.setdefault(
            limit,
            CompiledQuery(
                lambda conversation, after: selectors.messages_after_queryset(
                    conversation_id=conversation, after_seq=after, limit=limit
                ),
                "conversation",
                "after",
            ),
        )
    return query


def resume_page(*, actor: Actor, conversation_id: int, after_seq: int, limit: int) -> dict:
    """selectors.resume_page: the messages after a seq and the conversation's state."""
    if actor.kind != "customer":
        return selectors.resume_page(
            actor=actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
        )
    customer_id = actor.customer.pk
    found = _conversation(customer=customer_id, conversation=conversation_id)
    if not found:
        raise NotFound("No such conversation.")  # missing or not theirs: one answer
    conversation = found[0]
    messages = _messages(limit)(conversation=conversation.pk, after=after_seq)
    translations = defaultdict(list)
    if messages:
        upto = messages[-1].seq
        for t in _translations(conversation=conversation.pk, after=after_seq, upto=upto):
            translations[t.message_id].append(t)
    participant = _viewer(conversation=conversation.pk, customer=customer_id)
    viewer = viewer_of(participant[0] if participant else None, conversation)
    enabled = engine_name() != "off"
    participants = _conversation_participants(conversation=conversation.pk)
    return {
        "conversation": conversation_payload(conversation, participants),
        "messages": [
            message_payload(
                m, viewer=viewer, translations=translations[m.pk], translation_enabled=enabled
            )
            for m in messages
        ],
        "has_more": bool(messages) and messages[-1].seq < conversation.last_seq,
    }
