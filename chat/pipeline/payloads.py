"""The per-viewer part of a message payload (docs/protocol.md, "Message").

The sender reads their own text; everyone else reads the moderated copy, never the
original. Translations are of the moderated copy, so every viewer may see all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chat.models import Message, MessageTranslation
from chat.pipeline.engines import engine_name

TRANSLATABLE_KINDS = (Message.Kind.TEXT, Message.Kind.BOT, Message.Kind.SYSTEM)


@dataclass(frozen=True)
class Viewer:
    """Who a payload is built for: a participant (``participant_id``) or someone reading
    from outside (an agent in the waiting room, a supervisor, an API key: None)."""

    participant_id: int | None = None
    language: str | None = None  # the language this viewer reads first

    @classmethod
    def for_participant(cls, participant, languages: tuple[str, ...] = ()) -> Viewer:
        return cls(participant.pk, languages[0] if languages else None)


OUTSIDER = Viewer()


def translation_summary(m: Message, rows: list[MessageTranslation], *, enabled: bool) -> str:
    """off | none | pending | done | unavailable — one word for the whole message."""
    if m.kind not in TRANSLATABLE_KINDS:
        return "none"
    states = {t.state for t in rows}
    if MessageTranslation.State.PENDING in states:
        return "pending"
    if MessageTranslation.State.UNAVAILABLE in states:
        return "unavailable"
    if rows:
        return "done"
    if not enabled:
        return "off"
    # No rows yet: the task has not decided (pending), or nobody needs one (none).
    return "pending" if m.pipeline == Message.Pipeline.PENDING else "none"


def message_view(
    m: Message,
    *,
    viewer: Viewer | None,
    translations: Iterable[MessageTranslation] | None = None,
    translation_enabled: bool | None = None,
) -> dict[str, Any]:
    viewer = viewer or OUTSIDER
    if translation_enabled is None:
        translation_enabled = engine_name() != "off"
    rows = list(m.translations.all()) if translations is None else list(translations)
    is_sender = viewer.participant_id is not None and viewer.participant_id == m.sender_id
    moderation = m.moderation
    if moderation == Message.Moderation.FLAGGED:
        moderation = Message.Moderation.MASKED  # the review queue is for supervisors only
    return {
        "body": m.body if is_sender else m.recipient_body,
        "moderation": moderation,
        "language": m.language or None,
        "translation": translation_summary(m, rows, enabled=translation_enabled),
        "translations": {
            t.language: {
                "state": t.state,
                "body": t.body if t.state == MessageTranslation.State.DONE else None,
            }
            for t in rows
        },
        "view": {"as": "sender" if is_sender else "recipient", "language": viewer.language},
    }
