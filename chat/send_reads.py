"""The reads of a send that does not take the one-call server path (chat/services/
send_server.py is PostgreSQL's): the locked conversation, an agent's right to see it, the
active participants and a retried client_msg_id, as statements compiled once
(chat/compiled.py).

In the embedded mode (SQLite) every send takes this path, and Django building and
compiling these four querysets cost more of daphne's CPU than anything else of the send
(docs/benchmarks.md, "The embedded send path"). The statements are Django's own, from the
same querysets as the plain selectors'; tests/chat/test_send_reads.py holds the results
equal on both databases.

Used on SQLite only, for now: on PostgreSQL, where a plain send is one server call, a ramp
with them in the rest of the writers (the bot's, the pipeline's) measured more CPU per
message, not less (docs/benchmarks.md, "The embedded send path"), unexplained yet; there
the ORM's querysets run as before.
"""

from __future__ import annotations

from django.db import connection
from django.db.transaction import TransactionManagementError

from chat.compiled import CompiledQuery
from chat.models import Conversation, Message, Participant
from chat.selectors import agent_visible_conversations

LOCK_RELATED = ("customer", "queue", "assignee", "site")


def _locking():
    return Conversation.objects.select_for_update(of=("self",)).select_related(*LOCK_RELATED)


_locked = CompiledQuery(lambda conversation: _locking().filter(pk=conversation)[:1], "conversation")
_locked_of_customer = CompiledQuery(
    lambda conversation, customer: _locking().filter(pk=conversation, customer_id=customer)[:1],
    "conversation",
    "customer",
)
_agent_visible = CompiledQuery(
    lambda conversation, user: (
        agent_visible_conversations(user_id=user)
        .select_related(*LOCK_RELATED)
        .filter(pk=conversation)[:1]
    ),
    "conversation",
    "user",
)
_participants = CompiledQuery(
    lambda conversation: Participant.objects.filter(
        conversation_id=conversation, left_at__isnull=True
    ).select_related("customer", "user__agent_profile"),
    "conversation",
)
_retried = CompiledQuery(
    lambda conversation, sender, client_msg_id: Message.objects.filter(
        conversation_id=conversation, sender_id=sender, client_msg_id=client_msg_id
    )[:1],  # QuerySet.first() of the model's ordering
    "conversation",
    "sender",
    texts=("client_msg_id",),
)


def compiled_here() -> bool:
    return connection.vendor == "sqlite"


def _rows(query: CompiledQuery, **values) -> list:
    """The compiled statement's rows on SQLite; elsewhere the same queryset, uncompiled."""
    return query(**values) if compiled_here() else list(query.queryset(**values))


def locked_conversation(conversation_id: int, customer_id: int | None) -> Conversation | None:
    """The conversation row, locked for the transaction (only a customer's own with
    ``customer_id``), with what every writer reads beside it; None if there is none."""
    # The ORM refuses a locking read outside a transaction; the compiled one must too, or
    # it would read without locking and the seq order would be lost without an error.
    if connection.features.has_select_for_update and connection.get_autocommit():
        raise TransactionManagementError(
            "select_for_update cannot be used outside of a transaction."
        )
    if customer_id is None:
        found = _rows(_locked, conversation=conversation_id)
    else:
        found = _rows(_locked_of_customer, conversation=conversation_id, customer=customer_id)
    return found[0] if found else None


def agent_visible_conversation(conversation_id: int, user_id: int) -> Conversation | None:
    """selectors.conversation_get_for_actor for an agent who is not a supervisor."""
    found = _rows(_agent_visible, conversation=conversation_id, user=user_id)
    return found[0] if found else None


def active_participants(conversation_id: int) -> list[Participant]:
    """fanout.viewers' participants: the active ones, with their customer, user and
    agent profile."""
    return _rows(_participants, conversation=conversation_id)


def retried_message(conversation_id: int, sender_id: int, client_msg_id: str) -> Message | None:
    """The message a sender stored already under this client_msg_id (a retry)."""
    found = _rows(
        _retried, conversation=conversation_id, sender=sender_id, client_msg_id=client_msg_id
    )
    return found[0] if found else None


def retried_by_former_sender(
    conversation_id: int, *, customer_id: int | None, user_id: int | None, client_msg_id: str
) -> Message | None:
    """A message stored under this client_msg_id by the actor as any participant of the
    conversation, active or not: a retry from an outbox whose sender has since left (or
    transferred the chat) is still a duplicate, not a refusal. Rare: uncompiled."""
    by = {"sender__customer_id": customer_id} if customer_id else {"sender__user_id": user_id}
    return (
        Message.objects.filter(conversation_id=conversation_id, client_msg_id=client_msg_id, **by)
        .select_related("sender")
        .first()
    )
