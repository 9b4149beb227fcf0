"""What a person does to a conversation: writes in it (message_post), resolves it, reopens
it. Each returns what changed, so that the flows crossing apps (the bot's step, routing's
queue and chat slots) can follow in the same transaction: see actions/."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat import send_reads
from chat.actors import Actor
from chat.csat_models import CsatRating
from chat.exceptions import Conflict, NotFound, PermissionDenied
from chat.models import Conversation, ConversationEvent, Message
from chat.names import user_name
from chat.selectors import (
    conversation_get_for_actor,
    participant_get_for_actor,
    participant_pick_for_actor,
)
from chat.services import attachments as attachment_service
from chat.services import send_server
from chat.services.conversations import (
    conversation_lock,
    conversation_publish,
    conversation_transition,
)
from chat.services.fanout import viewers
from chat.services.messages import event_message_post, message_create
from chat.services.validation import clean_body, clean_choice, clean_client_msg_id

CLOSED = (Conversation.Status.RESOLVED, Conversation.Status.ABANDONED)


@dataclass(frozen=True)
class Posted:
    message: Message
    created: bool  # False: a retry of a stored client_msg_id; nothing else happened
    conversation: Conversation  # locked by this transaction
    reopened: bool  # the customer wrote in a closed conversation and reopened it
    choice: str | None


@transaction.atomic(savepoint=False)  # no savepoint round trips inside an action
def message_post(
    *,
    actor: Actor,
    conversation_id: int,
    body: Any,
    client_msg_id: Any,
    choice: Any = None,
    attachments: Any = None,
) -> Posted:
    """Store a message from a customer or an agent, on the locked conversation row.

    A retry with the same client_msg_id returns the stored message and creates nothing.
    `choice` is the id of the bot button the customer clicked (the body is its label).
    Use actions.message_send: it runs the bot's step and requeues a reopened conversation
    in the same transaction.
    """
    attachment_ids = attachment_service.clean_attachment_ids(attachments)
    # A message may be attachments only.
    body = "" if attachment_ids and body in (None, "") else clean_body(body)
    client_msg_id = clean_client_msg_id(client_msg_id)
    choice = clean_choice(choice)
    if not attachment_ids and send_server.server_sends():
        # The common send in one PostgreSQL call; it hands back what it does not take.
        stored = send_server.message_store_on_server(
            actor=actor,
            conversation_id=conversation_id,
            body=body,
            client_msg_id=client_msg_id,
            choice=choice,
        )
        if stored is not None:
            message, created, conversation = stored
            return Posted(message, created, conversation, False, choice)
    # The row lock serialises senders of one conversation: seq order is commit order, and
    # two concurrent retries of one client_msg_id cannot both insert.
    if actor.kind == "customer":
        conversation = conversation_lock(conversation_id, customer_id=actor.customer.pk)
    else:
        visible = (
            send_reads.agent_visible_conversation(conversation_id, actor.user.pk)
            if actor.kind == "agent" and not actor.is_supervisor
            else conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
        )
        if visible is None:
            raise NotFound("No such conversation.")  # missing or not theirs: one answer
        conversation = conversation_lock(visible.pk)
    # One read of the active participants, under the lock (who takes part changes only
    # under it): the sender is one of them, and message.new goes to them all.
    audience = viewers(conversation=conversation)
    try:
        sender = participant_pick_for_actor(actor=actor, participants=[p for p, _g, _v in audience])
    except PermissionDenied:
        if actor.kind not in ("customer", "agent"):
            raise
        # An outbox retrying a message stored before its sender left gets the stored
        # message (docs/protocol.md "Idempotent sends"), not a refusal it cannot act on.
        existing = send_reads.retried_by_former_sender(
            conversation.pk,
            customer_id=actor.customer.pk if actor.customer is not None else None,
            user_id=actor.user.pk if actor.user is not None else None,
            client_msg_id=client_msg_id,
        )
        if existing is None:
            raise
        return Posted(existing, False, conversation, False, choice)
    existing = send_reads.retried_message(conversation.pk, sender.pk, client_msg_id)
    if existing is not None:
        return Posted(existing, False, conversation, False, choice)
    reopened = False
    if conversation.status in CLOSED:
        if actor.kind != "customer":
            raise Conflict(
                "The conversation is closed; reopen it first.", code="conversation_closed"
            )
        conversation_reopen_locked(conversation=conversation, actor=actor, reason="customer wrote")
        reopened = True
        audience = None  # reopening changed who reads it: message_create reads them again
    files = attachment_service.attachments_for_send(
        actor=actor, conversation=conversation, ids=attachment_ids
    )
    data: dict[str, Any] = {"choice": choice} if choice else {}
    if files:
        data["attachments"] = attachment_service.attachments_snapshot(files)
    message = message_create(
        conversation=conversation,
        sender=sender,
        body=body,
        client_msg_id=client_msg_id,
        data=data or None,
        audience=audience,
    )
    attachment_service.attachments_link(attachments=files, message=message)
    return Posted(message, True, conversation, reopened, choice)


@transaction.atomic(savepoint=False)
def conversation_resolve(
    *, actor: Actor, conversation_id: int, reason: str = ""
) -> tuple[Conversation, str | None]:
    """Resolve on the locked row; returns the conversation and the status it left (None
    when it was resolved already: idempotent). Use actions.conversation_resolve, which
    gives the agent's chat slot back in the same transaction."""
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    if (actor.kind == "agent" and not actor.is_supervisor) or actor.kind == "customer":
        participant_get_for_actor(actor=actor, conversation=conversation)
    conversation = conversation_lock(conversation.pk)
    if conversation.status == Conversation.Status.RESOLVED:
        return conversation, None
    if conversation.status == Conversation.Status.ABANDONED:
        raise Conflict("The conversation was abandoned.", code="conversation_closed")
    from_status = conversation.status
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.RESOLVED,
        reason=reason or f"resolved by {actor.kind}",
        actor=actor.label,
        resolved_at=timezone.now(),
    )
    who = "the customer" if actor.kind == "customer" else actor_name(actor)
    # data.line: the widget says it in the customer's language (docs/protocol.md); who
    # resolved it is named only when it is an agent (not an API key's name).
    line = {"customer": {"line": "resolved_you"}, "agent": {"line": "resolved", "by": who}}
    event_message_post(
        conversation=conversation,
        body=f"Conversation resolved by {who}.",
        data=line.get(actor.kind, {"line": "resolved_plain"}),
    )
    conversation_publish(conversation=conversation)
    return conversation, from_status


def conversation_reopen_locked(*, conversation: Conversation, actor: Actor, reason: str) -> None:
    """On a locked, closed row; the caller queues it again (routing)."""
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.REOPENED,
        reason=reason,
        actor=actor.label,
        resolved_at=None,
        assignee=None,
    )
    event_message_post(
        conversation=conversation, body="Conversation reopened.", data={"line": "reopened"}
    )


@transaction.atomic(savepoint=False)
def conversation_reopen(*, actor: Actor, conversation_id: int) -> Conversation:
    """Reopen a closed conversation (locked); use actions.conversation_reopen, which queues
    it again in the same transaction."""
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = conversation_lock(conversation.pk)
    if conversation.status not in CLOSED:
        raise Conflict("Only a closed conversation can be reopened.", code="conversation_open")
    conversation_reopen_locked(conversation=conversation, actor=actor, reason="reopened")
    return conversation


UNDO_REASON = "resolve undone"


@transaction.atomic(savepoint=False)
def conversation_unresolve(
    *, actor: Actor, conversation_id: int, now: dt.datetime | None = None
) -> tuple[Conversation, bool]:
    """Take back a resolve the console just sent (its "Resolved · Undo" toast), on the
    locked row: the conversation is assigned again to the agent who had it. Returns the
    conversation and whether it changed (False: a retry of an undo that already ran).
    Use actions.conversation_unresolve, which gives the agent's chat slot back in the same
    transaction.

    Only the agent who resolved it (or a supervisor), within RESOLVE_UNDO_SECONDS of the
    resolve, and only if nothing happened since: every way a resolved conversation changes
    (the customer writes, a reopen, a timer, another resolve) is a status change recorded
    under this same row lock, so "the newest status change is this resolve" is the check."""
    if actor.kind != "agent":
        raise PermissionDenied("Only an agent's console undoes a resolve.")
    now = now or timezone.now()
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = conversation_lock(conversation.pk)
    # Read under the lock: no status change of this conversation can commit in between.
    last = (
        ConversationEvent.objects.filter(conversation_id=conversation.pk, type="status_changed")
        .order_by("-id")
        .first()
    )
    if conversation.status != Conversation.Status.RESOLVED:
        if (
            last is not None
            and conversation.status == Conversation.Status.ASSIGNED
            and last.from_status == Conversation.Status.RESOLVED
            and last.reason == UNDO_REASON
            and last.actor == actor.label
        ):
            return conversation, False  # the same undo again (a retry): it is done
        raise Conflict(
            "The conversation is not resolved any more (the customer may have written).",
            code="not_resolved",
        )
    if last is None or last.to_status != Conversation.Status.RESOLVED:
        raise Conflict("The conversation is not resolved.", code="not_resolved")  # old data
    if last.actor != actor.label and not actor.is_supervisor:
        raise PermissionDenied("Only the agent who resolved it can undo that.", code="not_resolver")
    if last.from_status != Conversation.Status.ASSIGNED or not conversation.assignee_id:
        raise Conflict(
            "It was not with an agent when it was resolved: reopen it instead.",
            code="not_assigned",
        )
    window = settings.PARLEY["RESOLVE_UNDO_SECONDS"]
    if (
        conversation.resolved_at is None
        or (now - conversation.resolved_at).total_seconds() > window
    ):
        raise Conflict(f"Too late to undo: over {window} s since the resolve.", code="undo_expired")
    if CsatRating.objects.filter(conversation_id=conversation.pk).exists():
        # The rating is final (one per conversation): an undo would leave it on a chat that
        # goes on, and the customer could not rate its real end.
        raise Conflict("The customer has rated the conversation already.", code="customer_rated")
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.ASSIGNED,
        reason=UNDO_REASON,
        actor=actor.label,
        data={"undo": last.pk, "agent": conversation.assignee_id},
        resolved_at=None,
    )
    event_message_post(
        conversation=conversation,
        body=f"Conversation reopened by {actor_name(actor)}.",
        data={"line": "reopened"},  # the widget says "Conversation reopened." in its language
    )
    return conversation, True


def actor_name(actor: Actor) -> str:
    if actor.kind == "agent":
        return user_name(actor.user)
    return actor.label
