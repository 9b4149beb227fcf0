"""A conversation's subject and priority, as an agent or an integration changes them (the
REST ``PATCH /conversations/{id}/``). The waiting line's copy of the priority is routing's:
``actions.conversations.conversation_update`` moves it in the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from chat.actors import Actor
from chat.exceptions import PermissionDenied, ValidationError
from chat.models import Conversation
from chat.selectors import conversation_get_for_actor
from chat.services.conversations import conversation_lock, event_record

PRIORITY_MIN, PRIORITY_MAX = -100, 100
SUBJECT_MAX = 200


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - {"subject", "priority"})
    if unknown:
        raise ValidationError(
            f"unknown fields {unknown}: subject and priority may change.", field=unknown[0]
        )
    out = dict(values)
    if "subject" in out:
        subject = out["subject"]
        if not isinstance(subject, str) or len(subject) > SUBJECT_MAX or "\x00" in subject:
            raise ValidationError(
                f"subject must be text of at most {SUBJECT_MAX} characters.", field="subject"
            )
        out["subject"] = subject.strip()
    if "priority" in out:
        priority = out["priority"]
        if (
            isinstance(priority, bool)
            or not isinstance(priority, int)
            or not PRIORITY_MIN <= priority <= PRIORITY_MAX
        ):
            raise ValidationError(
                f"priority must be an integer from {PRIORITY_MIN} to {PRIORITY_MAX}.",
                field="priority",
            )
    return out


@transaction.atomic
def conversation_details_change(
    *, actor: Actor, conversation_id: int, values: dict[str, Any]
) -> tuple[Conversation, dict[str, tuple[Any, Any]]]:
    """Set the given fields (``subject``, ``priority``; any other is a 400) under the conversation's row lock; returns the conversation and
    what changed (``{field: (before, after)}``), recorded on the timeline when anything did.
    The same values again change nothing and record nothing."""
    if actor.kind == "customer":
        raise PermissionDenied("Customers cannot change a conversation's subject or priority.")
    values = _clean(values)
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = conversation_lock(conversation.pk)
    changed = {
        name: (getattr(conversation, name), value)
        for name, value in values.items()
        if getattr(conversation, name) != value
    }
    if changed:
        for name, (_, value) in changed.items():
            setattr(conversation, name, value)
        Conversation.objects.filter(pk=conversation.pk).update(
            **{name: value for name, (_, value) in changed.items()}
        )
        event_record(
            conversation=conversation,
            type="details.changed",
            # What the console's timeline shows: the change itself, not only its name.
            reason="; ".join(
                f"priority {a} → {b}" if name == "priority" else f"subject: {b or '(none)'}"
                for name, (a, b) in sorted(changed.items())
            )[:200],
            actor=actor.label,
            data={name: {"from": a, "to": b} for name, (a, b) in changed.items()},
        )
    return conversation, changed
