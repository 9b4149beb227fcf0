"""Each viewer gets their own copy of a message (the sender their text, the others the
moderated copy, each in the languages they read), after commit, in one trip to the layer."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from chat import realtime, recipients, send_reads
from chat.models import (
    Conversation,
    Message,
    MessageTranslation,
    Participant,
)
from chat.payloads import message_payload
from chat.pipeline import engines
from chat.pipeline.languages import reader_languages
from chat.pipeline.payloads import Viewer

logger = logging.getLogger(__name__)


# --- fan-out: each viewer gets their own payload ------------------------------------------------
def viewers(*, conversation: Conversation) -> list[tuple[Participant, str, Viewer]]:
    """(participant, principal group, viewer) for the conversation's active participants."""
    return viewers_of(send_reads.active_participants(conversation.pk), conversation)


def viewers_of(
    participants: Iterable[Participant], conversation: Conversation
) -> list[tuple[Participant, str, Viewer]]:
    """``viewers()`` from participants read already (with their customer, user and agent
    profile): the send's server path reads them in its one call."""
    out = []
    for p in participants:
        group = recipients.participant_group(p)
        if group is None:
            continue
        out.append((p, group, Viewer.for_participant(p, reader_languages(p, conversation))))
    return out


def message_publish(
    *,
    message: Message,
    conversation: Conversation,
    frame_type: str,
    sender: Participant | None = None,
    translations: list[MessageTranslation] | None = None,
    changed: list[str] | None = None,
    audience: list[tuple[Participant, str, Viewer]] | None = None,
) -> None:
    """Queue ``frame_type`` (message.new / message.updated) to every viewer after commit,
    each with their own view: the sender's groups get their own text, the others the
    moderated copy. Consoles in the waiting room get the recipients' copy. ``audience``:
    ``viewers()`` when the caller already has it."""
    sender = sender or message.sender
    if translations is None:
        translations = list(message.translations.all())
    enabled = engines.engine_name() != "off"

    def frame(viewer: Viewer | None) -> dict[str, Any]:
        out = {
            "type": frame_type,
            "message": message_payload(
                message,
                sender,
                viewer=viewer,
                translations=translations,
                translation_enabled=enabled,
            ),
        }
        if changed is not None:
            out["changed"] = changed
        return out

    items = [
        ([group], frame(viewer))
        for _participant, group, viewer in audience or viewers(conversation=conversation)
    ]
    if conversation.status in Conversation.WAITING_STATUSES:
        items.append(([recipients.AGENTS_GROUP], frame(None)))
    # Supervisors following it from the floor dashboard (read-only): one more PUBLISH in the
    # same trip, heard only where a floor socket follows this conversation.
    items.append(([recipients.watch_group(conversation.pk)], frame(None)))
    # One trip through the layer for all the viewers' frames (in order), not one each.
    realtime.publish_many_on_commit(items)
