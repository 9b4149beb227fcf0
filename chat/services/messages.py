"""Messages: every insert gets the next seq under the conversation's row lock, is moderated
in-process first, and is announced (message.new) only after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat import compiled, hooks, metrics, send_reads
from chat.actors import Actor
from chat.events import HOOK_MESSAGE_CREATED
from chat.exceptions import PermissionDenied, ValidationError
from chat.models import Conversation, Message, Participant
from chat.selectors import conversation_get_for_actor
from chat.services import attachments as attachment_service
from chat.services import fanout, moderation, pipeline_queue
from chat.services.conversations import conversation_lock
from chat.services.validation import clean_body, clean_client_msg_id


def system_participant(conversation: Conversation, role: str) -> Participant:
    participant, _ = Participant.objects.get_or_create(conversation=conversation, role=role)
    return participant


def _awaiting_since(
    conversation: Conversation, sender: Participant, kind: str, at: dt.datetime
) -> dt.datetime | None:
    """Since when the customer has waited for an answer, after this message: their text
    starts the clock (if it is not running), an agent's reply stops it, and so does the
    bot's while the bot has the conversation; once handed off, the customer waits for a
    person (routing starts the clock at the handoff), and a bot line is no answer."""
    if sender.role == Participant.Role.CUSTOMER and kind == Message.Kind.TEXT:
        return conversation.awaiting_since or at
    if kind not in (Message.Kind.TEXT, Message.Kind.BOT):
        return conversation.awaiting_since
    if sender.role == Participant.Role.AGENT:
        return None
    if sender.role == Participant.Role.BOT and conversation.status == Conversation.Status.BOT:
        return None
    return conversation.awaiting_since


def message_create(
    *,
    conversation: Conversation,
    sender: Participant,
    body: str,
    kind: str = Message.Kind.TEXT,
    data: dict[str, Any] | None = None,
    client_msg_id: str | None = None,
    audience: list | None = None,
) -> Message:
    """Insert a message with the next seq on a conversation row the caller has locked,
    and publish message.new after commit. ``audience``: ``fanout.viewers()`` when the
    caller posts several messages under one lock and already has it."""
    seq = conversation.last_seq + 1
    # Moderated here, in-process, before anyone is told: the recipients' copy never waits
    # for a worker (detection and translation follow in Celery; chat/pipeline).
    outcome = moderation.message_moderate(
        conversation=conversation, sender=sender, body=body, kind=kind
    )
    if outcome.blocked:
        raise moderation.MessageBlocked(
            outcome,
            body=body,
            conversation_id=conversation.pk,
            sender_id=sender.pk,
            client_msg_id=client_msg_id,
        )
    state = moderation.initial_pipeline_state(kind)
    message = Message(
        conversation=conversation,
        seq=seq,
        sender=sender,
        kind=kind,
        body=body,
        data=data or {},
        client_msg_id=client_msg_id,
        pipeline=state,
        pipeline_queued_at=timezone.now() if state == Message.Pipeline.PENDING else None,
        **outcome.fields(),
    )
    if send_reads.compiled_here():
        compiled.insert(message)  # Message.objects.create's row, in a statement made once
    else:
        message.save(force_insert=True)
    conversation.last_seq = seq
    conversation.last_message_at = message.created_at
    changed = {"last_seq": seq, "last_message_at": message.created_at}
    awaiting = _awaiting_since(conversation, sender, kind, message.created_at)
    if awaiting != conversation.awaiting_since:
        conversation.awaiting_since = changed["awaiting_since"] = awaiting
    if send_reads.compiled_here():
        compiled.update(Conversation, conversation.pk, changed)
        # The sender has seen their own message.
        compiled.update(
            Participant, sender.pk, {"read_seq": seq, "delivered_seq": seq}, below=("read_seq", seq)
        )
    else:
        Conversation.objects.filter(pk=conversation.pk).update(**changed)
        Participant.objects.filter(pk=sender.pk, read_seq__lt=seq).update(
            read_seq=seq, delivered_seq=seq
        )
    if outcome.moderation == Message.Moderation.FLAGGED:
        moderation.message_flag_record(message=message)
    message_created(message=message, conversation=conversation, sender=sender, audience=audience)
    return message


def message_created(
    *, message: Message, conversation: Conversation, sender: Participant, audience: list | None
) -> None:
    """What follows a stored message, whichever path stored it (message_create's statements
    or the send's one server call, chat/services/send_server.py): message.new after commit,
    the pipeline's queue, the counter, the integrations' event."""
    kind = message.kind
    # Each participant gets their own view (the sender their text, the others the moderated
    # copy); consoles in the waiting list get the others' view for the live preview.
    fanout.message_publish(
        message=message,
        conversation=conversation,
        frame_type="message.new",
        sender=sender,
        translations=[],
        audience=audience,
    )
    pipeline_queue.message_pipeline_queue(message=message)
    metrics.MESSAGES.labels(kind=kind).inc()
    # Timeline lines are told as conversation.* events; a kind added later (an agents-only
    # note) stays out of integrations until it is added here on purpose.
    if kind in (Message.Kind.TEXT, Message.Kind.BOT, Message.Kind.SYSTEM):
        hooks.emit(
            conversation=conversation,
            event=HOOK_MESSAGE_CREATED,
            message=message_hook_payload(message, sender),
        )


def message_hook_payload(message: Message, sender: Participant) -> dict[str, Any]:
    """An integration reads what the recipients read (the moderated copy), never more."""
    return {
        "id": message.pk,
        "seq": message.seq,
        "kind": message.kind,
        "sender": {"role": sender.role, "name": sender.display_name},
        "body": message.recipient_body,
        "data": message.data or {},
        "created_at": message.created_at.isoformat(),
    }


def event_message_post(
    *,
    conversation: Conversation,
    body: str,
    data: dict[str, Any] | None = None,
    audience: list | None = None,
) -> Message:
    """A timeline line in the transcript ("Ana joined"), on a locked conversation."""
    return message_create(
        conversation=conversation,
        sender=system_participant(conversation, Participant.Role.SYSTEM),
        body=body,
        kind=Message.Kind.EVENT,
        data=data,
        audience=audience,
    )


@transaction.atomic
def system_message_post(
    *,
    actor: Actor,
    conversation_id: int,
    body: Any,
    client_msg_id: Any = None,
    data: Any = None,
    sender_role: str = "system",
    agent_id: int | None = None,
    attachments: Any = None,
) -> tuple[Message, bool]:
    """A backend service posts into a conversation: a system message (an order update, a
    CRM note), a bot's message, or a message in the name of an agent who takes part in it.
    Idempotent on client_msg_id."""
    if actor.kind != "service":
        raise PermissionDenied("Only an API key may post system messages.")
    attachment_ids = attachment_service.clean_attachment_ids(attachments)
    body = "" if attachment_ids and body in (None, "") else clean_body(body)
    client_msg_id = clean_client_msg_id(client_msg_id, required=False)
    if data is not None and not isinstance(data, dict):
        raise ValidationError("data must be an object.", field="data")
    if data and "attachments" in data:  # the service's snapshot: payloads sign its ids
        raise ValidationError("data.attachments is reserved.", field="data.attachments")
    if sender_role not in ("system", "bot", "agent"):
        raise ValidationError("as must be system, bot or agent.", field="as")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = conversation_lock(conversation.pk)
    if sender_role == "agent":
        sender = Participant.objects.filter(
            conversation=conversation,
            role=Participant.Role.AGENT,
            user_id=agent_id,
            left_at__isnull=True,
        ).first()
        if agent_id is None or sender is None:
            raise ValidationError(
                "agent must be an agent taking part in the conversation.", field="agent"
            )
        kind = Message.Kind.TEXT
    else:
        sender = system_participant(conversation, sender_role)
        kind = Message.Kind.SYSTEM if sender_role == "system" else Message.Kind.BOT
    if client_msg_id:
        existing = Message.objects.filter(
            conversation=conversation, sender=sender, client_msg_id=client_msg_id
        ).first()
        if existing is not None:
            return existing, False
    files = attachment_service.attachments_for_send(
        actor=actor, conversation=conversation, ids=attachment_ids
    )
    if files:
        data = {**(data or {}), "attachments": attachment_service.attachments_snapshot(files)}
    message = message_create(
        conversation=conversation,
        sender=sender,
        body=body,
        kind=kind,
        # Which integration posted it (the console shows it beside a system message), unless
        # the caller named a source of its own: `data` is the integrator's, never overwritten.
        data={"source": actor.api_key.name, **(data or {})},
        client_msg_id=client_msg_id,
    )
    attachment_service.attachments_link(attachments=files, message=message)
    return message, True
