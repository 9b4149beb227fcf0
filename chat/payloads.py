"""Frame payloads, built once at publish time (the socket tier never queries the database).
The same shapes are used by the REST API, so a client parses one format."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chat.attachment_links import message_attachments
from chat.csat_models import CsatRating
from chat.models import Conversation, Message, MessageTranslation, Participant
from chat.names import user_name
from chat.pipeline.payloads import Viewer, message_view


def _ts(value) -> str | None:
    return value.isoformat() if value else None


def participant_payload(p: Participant) -> dict[str, Any]:
    return {
        "id": p.pk,
        "role": p.role,
        "name": p.display_name,
        "delivered_seq": p.delivered_seq,
        "read_seq": p.read_seq,
        "language": p.language,
        "active": p.left_at is None,
    }


def conversation_payload(
    c: Conversation, participants: list[Participant] | None = None
) -> dict[str, Any]:
    if participants is None:
        participants = list(
            c.participants.select_related("customer", "user__agent_profile").order_by("id")
        )
    assignee = None
    if c.assignee_id:
        # The assignee is one of the participants, read with their profile (their name).
        joined = (p.user for p in participants if p.user_id == c.assignee_id)
        user = next(joined, None) or c.assignee
        assignee = {"id": user.pk, "name": user_name(user)}
    return {
        "id": c.pk,
        "status": c.status,
        "site": c.site_id,
        "customer": {"id": c.customer_id, "name": c.customer.display_name},
        "queue": {
            "id": c.queue_id,
            "name": c.queue.name,
            "reply_target": c.queue.sla_seconds,
            "silence_nudge": c.queue.silence_nudge_seconds,
        }
        if c.queue_id
        else None,
        "assignee": assignee,
        "language": c.language,
        "language_settled": c.language_settled_at is not None,
        "priority": c.priority,
        "subject": c.subject,
        "last_seq": c.last_seq,
        "rev": c.rev,
        "created_at": _ts(c.created_at),
        "queued_at": _ts(c.queued_at),
        "assigned_at": _ts(c.assigned_at),
        "resolved_at": _ts(c.resolved_at),
        "last_message_at": _ts(c.last_message_at),
        "awaiting_since": _ts(c.awaiting_since),
        "participants": [participant_payload(p) for p in participants],
    }


def message_payload(
    m: Message,
    sender: Participant | None = None,
    *,
    viewer: Viewer | None = None,
    translations: Iterable[MessageTranslation] | None = None,
    translation_enabled: bool | None = None,
) -> dict[str, Any]:
    """A message as ``viewer`` may see it (chat/pipeline/payloads.py): its sender gets their
    own text, anyone else (viewer None included) the moderated copy."""
    sender = sender or m.sender
    data, attachments = message_attachments(m.data)
    return {
        "id": m.pk,
        "conversation": m.conversation_id,
        "seq": m.seq,
        "kind": m.kind,
        "data": data,
        "attachments": attachments,
        "client_msg_id": m.client_msg_id,
        "created_at": _ts(m.created_at),
        "sender": {"participant": sender.pk, "role": sender.role, "name": sender.display_name},
        # body, moderation, language, translation(s), view: per viewer.
        **message_view(
            m,
            viewer=viewer,
            translations=translations,
            translation_enabled=translation_enabled,
        ),
    }


def note_payload(n) -> dict[str, Any]:
    """An internal note (chat.note_models.Note), for agents only."""
    return {
        "id": n.pk,
        "conversation": n.conversation_id,
        "kind": n.kind,
        "body": n.body,
        "data": n.data,
        "author": {"id": n.author_id, "name": n.author_name} if n.author_id else None,
        "author_name": n.author_name,
        "client_note_id": n.client_note_id,
        "created_at": _ts(n.created_at),
    }


def csat_payload(rating: CsatRating) -> dict[str, Any]:
    """A customer's rating of a conversation (csat.submitted, the REST answer, a past
    conversation's transcript)."""
    return {
        "score": rating.score,
        "comment": rating.comment,
        "agent": rating.agent_id,
        "created_at": rating.created_at.isoformat(),
    }
