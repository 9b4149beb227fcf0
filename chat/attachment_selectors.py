"""Who may read an attachment without a signed link: its uploader, and once it is sent,
whoever may see its conversation (its customer, its agents, supervisors, the site's API
keys)."""

from __future__ import annotations

import uuid

from chat.actors import Actor
from chat.attachment_models import Attachment
from chat.exceptions import NotFound
from chat.selectors import conversation_get_for_actor

NOT_FOUND = "No such attachment."


def uploader_key(actor: Actor) -> str:
    if actor.kind == "customer":
        return f"customer:{actor.customer.pk}"
    if actor.kind == "agent":
        return f"agent:{actor.user.pk}"
    return f"service:{actor.api_key.pk}"


def attachment_get(*, attachment_id: uuid.UUID) -> Attachment:
    try:
        return Attachment.objects.get(pk=attachment_id)
    except Attachment.DoesNotExist as exc:
        raise NotFound(NOT_FOUND, code="attachment_not_found") from exc


def attachment_get_for_actor(*, actor: Actor, attachment_id: uuid.UUID) -> Attachment:
    attachment = attachment_get(attachment_id=attachment_id)
    if attachment.uploader == uploader_key(actor):
        return attachment
    if attachment.message_id is None:
        raise NotFound(NOT_FOUND, code="attachment_not_found")
    # Same answer for "missing" and "not yours": ids must not be probeable.
    try:
        conversation_get_for_actor(actor=actor, conversation_id=attachment.conversation_id)
    except NotFound as exc:
        raise NotFound(NOT_FOUND, code="attachment_not_found") from exc
    return attachment
