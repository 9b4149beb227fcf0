"""A conversation's life where it crosses apps: the core stores, then the bot or routing
follows in the same transaction, under the same row lock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from bots.services import bot_session_advance, bot_session_hand_off, bot_session_start
from chat import hooks
from chat import services as chat
from chat.actors import Actor
from chat.exceptions import ParleyError, PermissionDenied
from chat.models import Conversation, Message, Note
from chat.selectors import conversation_get_for_actor
from chat.services.details import conversation_details_change
from chat.services.moderation import records_blocked
from routing.services import (
    conversation_enqueue,
    conversation_reclaimed,
    conversation_released,
    entry_priority_set,
)
from routing.services.checks import active_queue, clean_note


@transaction.atomic
def conversation_start(
    *,
    actor: Actor,
    language: str | None = None,
    subject: str = "",
    visit: dict | None = None,
    started_by: Actor | None = None,
) -> tuple[Conversation, bool]:
    """The customer's open conversation, or a new one greeted by the site's bot (or queued
    at once when the site has none). Idempotent (see chat.services.conversation_open)."""
    conversation, created = chat.conversation_open(
        actor=actor, language=language, subject=subject, visit=visit, started_by=started_by
    )
    if not created:
        return conversation, False
    bot_session_start(conversation=conversation)
    # The bot's first step (or the handoff) changed the row: publish what it is now.
    conversation = chat.conversation_lock(conversation.pk)
    chat.conversation_publish(conversation=conversation)
    return conversation, True


@transaction.atomic
def conversation_start_with_message(
    *, actor: Actor, message: dict[str, Any], all_or_nothing: bool = False, **start: Any
) -> tuple[Conversation, bool, tuple[Message, bool] | ParleyError]:
    """Start (as conversation_start) and store the customer's first message in the same
    transaction. Without a bot, the start queues the conversation and routing offers it
    once this commits: in two transactions an agent could be offered (and accept) a
    conversation whose first message was still on its way, one round trip behind.

    The message is a savepoint of its own: refused (blocked, invalid), the start still
    commits and the refusal is returned for the caller to answer like a message.send's
    (the socket). With ``all_or_nothing`` (REST: one request, one answer) the refusal is
    raised and nothing is kept."""
    conversation, created = conversation_start(actor=actor, **start)
    try:
        sent = message_send(
            actor=actor,
            conversation_id=conversation.pk,
            body=message.get("body"),
            client_msg_id=message.get("client_msg_id"),
            choice=message.get("choice"),
            attachments=message.get("attachments"),
        )
    except ParleyError as refused:
        if all_or_nothing:
            raise
        return conversation, created, refused
    return conversation, created, sent


@records_blocked  # outside the transaction: a blocked attempt is kept after the rollback
@transaction.atomic
def message_send(
    *,
    actor: Actor,
    conversation_id: int,
    body: Any,
    client_msg_id: Any,
    choice: Any = None,
    attachments: Any = None,
) -> tuple[Message, bool]:
    """Store a message from a customer or an agent. Returns (message, created).

    A retry with the same client_msg_id returns the stored message and does nothing else:
    the bot's step and the requeue below run once, with the insert, or not at all."""
    posted = chat.message_post(
        actor=actor,
        conversation_id=conversation_id,
        body=body,
        client_msg_id=client_msg_id,
        choice=choice,
        attachments=attachments,
    )
    if not posted.created:
        return posted.message, False
    conversation = posted.conversation
    if posted.reopened:
        conversation_enqueue(conversation=conversation, reason="reopened")
        chat.conversation_publish(conversation=conversation)
    if conversation.status == Conversation.Status.BOT and actor.kind == "customer":
        # One bot step per customer action, in this transaction, under this row lock. Its
        # reply is caused by the customer's message: one level deeper for the rules, so a
        # chain of rules through the bot's reply counts on instead of starting again.
        with hooks.caused_by(depth=hooks.current_depth() + 1, rule_id=None):
            bot_session_advance(
                conversation=conversation, message=posted.message, choice=posted.choice
            )
    return posted.message, True


@transaction.atomic
def conversation_resolve(*, actor: Actor, conversation_id: int, reason: str = "") -> Conversation:
    """Resolve; the agent's chat slot comes back (or a pending offer is withdrawn) in the
    same transaction. Idempotent."""
    conversation, from_status = chat.conversation_resolve(
        actor=actor, conversation_id=conversation_id, reason=reason
    )
    if from_status is not None:
        conversation_released(conversation=conversation, from_status=from_status, reason="resolved")
    return conversation


@transaction.atomic
def conversation_unresolve(
    *, actor: Actor, conversation_id: int, now: dt.datetime | None = None
) -> Conversation:
    """Undo a resolve from the console: assigned again to the same agent, who takes the
    chat slot back, in one transaction under the conversation's row lock (the rules are
    chat.services.conversation_unresolve's). Idempotent: a repeat changes nothing."""
    conversation, undone = chat.conversation_unresolve(
        actor=actor, conversation_id=conversation_id, now=now
    )
    if undone:
        conversation_reclaimed(conversation=conversation)
        # Last, after the participant is back: the snapshot lists who is in it now. To
        # every console, as the resolve was: one that showed it resolved (a supervisor's,
        # an earlier agent's) must not keep showing it so until its next change.
        chat.conversation_publish(conversation=conversation)
    return conversation


@transaction.atomic
def conversation_reopen(*, actor: Actor, conversation_id: int) -> Conversation:
    """Reopen a closed conversation and queue it again."""
    conversation = chat.conversation_reopen(actor=actor, conversation_id=conversation_id)
    conversation_enqueue(conversation=conversation, reason="reopened")
    chat.conversation_publish(conversation=conversation)
    return conversation


@transaction.atomic
def conversation_update(
    *, actor: Actor, conversation_id: int, values: dict[str, Any]
) -> Conversation:
    """Change a conversation's subject or priority (REST PATCH); a waiting conversation's
    place in line follows its new priority in the same transaction. Consoles hear it."""
    conversation, changed = conversation_details_change(
        actor=actor, conversation_id=conversation_id, values=values
    )
    if "priority" in changed:
        entry_priority_set(conversation_id=conversation.pk, priority=conversation.priority)
    if changed:
        chat.conversation_publish(conversation=conversation)
    return conversation


@transaction.atomic
def conversation_handoff(
    *, actor: Actor, conversation_id: int, to_queue_id: int | None = None, note: str = ""
) -> Conversation:
    """People take over a conversation the bot is serving, at a supervisor's or an
    integration's word (a CRM that knows this customer needs a person): the bot's own
    handoff, to ``to_queue_id`` or the conversation's queue. The note is for the agents."""
    if actor.kind == "customer" or (actor.kind == "agent" and not actor.is_supervisor):
        raise PermissionDenied("Supervisors and API keys hand a bot's conversation to people.")
    note = clean_note(note)
    queue = active_queue(to_queue_id) if to_queue_id is not None else None
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = chat.conversation_lock(conversation.pk)
    bot_session_hand_off(
        conversation=conversation, reason=f"handed to people by {actor.label}"[:200], queue=queue
    )
    # Who asked, on the timeline under their name (the status change is the router's).
    chat.event_record(
        conversation=conversation,
        type="bot.taken_over",
        reason=f"taken from the bot by {actor.label}"[:200],
        actor=actor.label,
        data={"to_queue": queue.pk if queue else None, "note": bool(note)},
    )
    if note:
        chat.note_create(
            conversation=conversation,
            kind=Note.Kind.HANDOFF,
            author=actor.user if actor.kind == "agent" else None,
            author_name="" if actor.kind == "agent" else f"{actor.api_key.name} (API)",
            body=note,
        )
    return chat.conversation_lock(conversation.pk)
