"""The widget's socket where it meets routing: a waiting customer sees their place in
line from the first frame on."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from chat.actors import Actor
from routing.selectors import queue_position_for_conversation, queue_positions_for_customer


def queue_positions(*, actor: Actor) -> list[dict[str, Any]]:
    """The queue.position frames of the customer's waiting conversations (a widget that
    connects while one waits sees its place in line at once)."""
    return queue_positions_for_customer(actor=actor, now=timezone.now())


def queue_position(*, conversation_id: int) -> dict[str, Any] | None:
    """The queue.position frame of a conversation that waits for an agent, else None."""
    return queue_position_for_conversation(conversation_id=conversation_id, now=timezone.now())
