"""Who receives a conversation's events, in one place: principal groups (every socket joins
its principal's group) and the fan-out of a conversation to its participants and to the
consoles that watch the waiting room.

There is no per-conversation group to join or leave: a conversation's events go to the
principal groups of its active participants, computed when the event is built, so a socket
on any process gets them the moment its owner becomes a participant, and nothing goes
stale when a process dies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

# Every agent console joins this group: the waiting room's live list.
AGENTS_GROUP = "agents"


class _Principal(Protocol):
    customer_id: int | None
    user_id: int | None
    left_at: object


def customer_group(customer_id: int) -> str:
    """A customer's widget tabs (every device)."""
    return f"cust.{customer_id}"


def user_group(user_id: int) -> str:
    """An agent's consoles (every tab)."""
    return f"user.{user_id}"


def participant_group(participant: _Principal) -> str | None:
    """The principal group of an active participant; None for the bot and system
    participants and for those who left."""
    if participant.left_at is not None:
        return None
    if participant.customer_id:
        return customer_group(participant.customer_id)
    if participant.user_id:
        return user_group(participant.user_id)
    return None


def participant_groups(participants: Iterable[_Principal]) -> list[str]:
    """The groups of the active participants, in participant order, without repeats."""
    groups: list[str] = []
    for participant in participants:
        group = participant_group(participant)
        if group is not None and group not in groups:
            groups.append(group)
    return groups


def conversation_groups(
    participants: Iterable[_Principal], *, lobby: bool = True, extra: Iterable[str] = ()
) -> list[str]:
    """Where a conversation.updated goes: its participants, the consoles' waiting room
    (``lobby``: a conversation entering, inside or leaving it), and ``extra`` groups (an
    agent it just left)."""
    groups = participant_groups(participants)
    if lobby:
        groups.append(AGENTS_GROUP)
    for group in extra:
        if group not in groups:
            groups.append(group)
    return groups


def note_groups(
    participants: Iterable[_Principal], *, assignee_id: int | None, waiting: bool
) -> list[str]:
    """Where an internal note goes: the consoles of the conversation's active agents (and
    its assignee), plus the waiting room's while it waits (every console there may read
    it). Never a customer's group: notes are for agents only."""
    groups = [user_group(p.user_id) for p in participants if p.user_id and p.left_at is None]
    if assignee_id:
        groups.append(user_group(assignee_id))
    if waiting:
        groups.append(AGENTS_GROUP)
    return list(dict.fromkeys(groups))
