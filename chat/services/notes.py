"""Internal notes: written by agents (and by the bot's hand-off and transfers), read by
agents only. A note has no seq (chat.note_models says why) and is announced with note.new
to the conversation's agents after commit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from chat import events, realtime, recipients
from chat.actors import Actor
from chat.exceptions import PermissionDenied, ValidationError
from chat.models import Conversation, Note, Participant
from chat.names import user_name
from chat.payloads import note_payload
from chat.selectors import conversation_get_for_actor
from chat.services.conversations import conversation_lock
from chat.services.validation import clean_body, clean_client_msg_id

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def note_create(
    *,
    conversation: Conversation,
    body: str,
    kind: str = Note.Kind.NOTE,
    author: AbstractBaseUser | None = None,
    author_name: str = "",
    data: dict[str, Any] | None = None,
    client_note_id: str | None = None,
) -> Note:
    """Insert a note and queue note.new to the conversation's agents after commit."""
    if author is not None and not author_name:
        author_name = user_name(author)
    note = Note.objects.create(
        conversation=conversation,
        kind=kind,
        author=author,
        author_name=author_name[:150],
        body=body,
        data=data or {},
        client_note_id=client_note_id,
    )
    participants = Participant.objects.filter(
        conversation_id=conversation.pk, left_at__isnull=True, user__isnull=False
    ).only("user_id", "customer_id", "left_at")
    groups = recipients.note_groups(
        participants,
        assignee_id=conversation.assignee_id,
        waiting=conversation.status in Conversation.WAITING_STATUSES,
    )
    realtime.publish_on_commit(groups, events.frame(events.NOTE_NEW, note=note_payload(note)))
    return note


@transaction.atomic
def note_add(
    *, actor: Actor, conversation_id: int, body: Any, client_note_id: Any = None
) -> tuple[Note, bool]:
    """An agent writes an internal note on a conversation they may see. Idempotent by
    ``client_note_id``: a retry returns the note it made (and False)."""
    if actor.kind != "agent":
        raise PermissionDenied("Only agents write internal notes.")
    body = clean_body(body)
    try:
        client_note_id = clean_client_msg_id(client_note_id, required=False)
    except ValidationError as exc:
        raise ValidationError(
            exc.message.replace("client_msg_id", "client_note_id"), field="client_note_id"
        ) from exc
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    # The row lock serialises two retries of one note, as it does a message's.
    conversation = conversation_lock(conversation.pk)
    if client_note_id:
        existing = Note.objects.filter(
            conversation=conversation, author=actor.user, client_note_id=client_note_id
        ).first()
        if existing is not None:
            return existing, False
    note = note_create(
        conversation=conversation, body=body, author=actor.user, client_note_id=client_note_id
    )
    return note, True
