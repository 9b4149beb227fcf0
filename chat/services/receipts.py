"""Receipts (each participant's delivered and read cursors) and typing, which is relayed
and never stored."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from chat import realtime, recipients
from chat.actors import Actor
from chat.exceptions import ValidationError
from chat.models import Participant
from chat.selectors import (
    conversation_get_for_actor,
    participant_get_for_actor,
    participant_groups,
)


def _seq_value(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} must be a non-negative integer.", field=field)
    return value


@transaction.atomic
def receipt_update(
    *,
    actor: Actor,
    conversation_id: int,
    delivered_seq: Any = None,
    read_seq: Any = None,
) -> Participant:
    """Move a participant's delivered/read cursors forward (never back)."""
    delivered_seq = _seq_value(delivered_seq, "delivered_seq")
    read_seq = _seq_value(read_seq, "read_seq")
    if delivered_seq is None and read_seq is None:
        raise ValidationError("Give delivered_seq or read_seq.", field="delivered_seq")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    participant = participant_get_for_actor(actor=actor, conversation=conversation)
    top = conversation.last_seq
    read = min(read_seq, top) if read_seq is not None else None
    delivered = min(max(delivered_seq or 0, read or 0), top)
    # Conditional updates keep cursors monotonic under concurrent tabs without a lock.
    changed = 0
    if read is not None:
        changed += Participant.objects.filter(pk=participant.pk, read_seq__lt=read).update(
            read_seq=read
        )
    changed += Participant.objects.filter(pk=participant.pk, delivered_seq__lt=delivered).update(
        delivered_seq=delivered
    )
    participant.refresh_from_db(fields=["delivered_seq", "read_seq"])
    if changed:
        realtime.publish_on_commit(
            participant_groups(conversation_id=conversation.pk),
            {
                "type": "receipt.updated",
                "conversation": conversation.pk,
                "participant": participant.pk,
                "role": participant.role,
                "delivered_seq": participant.delivered_seq,
                "read_seq": participant.read_seq,
            },
        )
    return participant


def typing_target(*, actor: Actor, conversation_id: int) -> dict[str, Any]:
    """What a socket caches to relay typing for one conversation without further queries."""
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    participant = participant_get_for_actor(actor=actor, conversation=conversation)
    # Not to the typer's own group: their other tabs drop their own typing anyway
    # (docs/protocol.md), and each frame to a group costs a publish and a socket write.
    own = recipients.participant_group(participant)
    return {
        "participant": participant.pk,
        "role": participant.role,
        "name": participant.display_name,
        "groups": [g for g in participant_groups(conversation_id=conversation.pk) if g != own],
    }


def typing_frame(*, conversation_id: int, target: dict[str, Any], state: Any) -> dict[str, Any]:
    if state not in ("start", "stop"):
        raise ValidationError("state must be 'start' or 'stop'.", field="state")
    return {
        "type": "typing",
        "conversation": conversation_id,
        "participant": target["participant"],
        "role": target["role"],
        "name": target["name"],
        "state": state,
    }
