"""Who may hand a conversation around, and the cleaning of what they send: the checks
shared by a take, a transfer and a supervisor's reassignment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from agents.models import AgentProfile
from agents.services import agent_presence_ensure
from chat.actors import Actor
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.selectors import user_is_agent
from routing.models import Queue

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def require_agent(actor: Actor) -> None:
    if actor.kind != "agent" or not user_is_agent(actor.user):
        raise PermissionDenied("Only agents do this.")


def require_supervisor(actor: Actor) -> None:
    if actor.kind != "agent" or not actor.is_supervisor:
        raise PermissionDenied("Only a supervisor does this.")


def active_queue(queue_id: int) -> Queue:
    """The active queue a transfer or a handoff names; NotFound otherwise."""
    queue = Queue.objects.filter(pk=queue_id, is_active=True).first()
    if queue is None:
        raise NotFound("No such queue.", code="queue_not_found")
    return queue


def clean_note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or len(note) > 1000:
        raise ValidationError("note must be text of at most 1000 characters.", field="note")
    return note.strip()


def clean_id(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{field} must be a positive integer.", field=field)
    return value


def target_agent(user_id: int) -> AbstractBaseUser:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not AgentProfile.objects.filter(user_id=user_id).exists():
        raise NotFound("No such agent.", code="agent_not_found")
    agent_presence_ensure(user=user)
    return user
