"""A conversation's tags (labels such as "refund"), changed by an agent or an API key.
Automation rules tag through actions.rules, under the same row lock."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from chat.actors import Actor
from chat.exceptions import PermissionDenied, ValidationError
from chat.models import Conversation
from chat.selectors import conversation_get_for_actor
from chat.services.conversations import conversation_lock, event_record

MAX_TAGS = 50
MAX_TAG_CHARS = 40  # as rules' tag actions (integrations/rules.py)


def clean_tags(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and 0 < len(t.strip()) <= MAX_TAG_CHARS and "\x00" not in t
        for t in value
    ):
        raise ValidationError(
            f"{field} must be a list of tags of 1 to {MAX_TAG_CHARS} characters.", field=field
        )
    return list(dict.fromkeys(t.strip() for t in value))


@transaction.atomic
def conversation_tags_change(
    *, actor: Actor, conversation_id: int, add: Any = (), remove: Any = ()
) -> Conversation:
    """Add and remove tags in one step (under the row lock, so concurrent changes do not
    lose each other's); recorded on the timeline when something changed."""
    if actor.kind == "customer":
        raise PermissionDenied("Customers cannot tag conversations.")
    add = clean_tags(list(add), "add")
    remove = set(clean_tags(list(remove), "remove"))
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = conversation_lock(conversation.pk)
    before = list(conversation.tags or [])
    after = [t for t in before if t not in remove]
    after += [t for t in add if t not in after and t not in remove]
    if len(after) > MAX_TAGS:
        raise ValidationError(f"A conversation has at most {MAX_TAGS} tags.", field="add")
    if after != before:
        conversation.tags = after
        Conversation.objects.filter(pk=conversation.pk).update(tags=after)
        event_record(
            conversation=conversation,
            type="tags.changed",
            reason="tags changed",
            actor=actor.label,
            data={
                "added": [t for t in after if t not in before],
                "removed": [t for t in before if t not in after],
            },
        )
    return conversation
