"""An agent's console and status where they meet routing: coming online looks for work,
going away hands the agent's offers on. agents/ sits below routing, so the follow-ups
are registered here, after commit (the presence row is the last lock a transaction takes,
so conversations are locked afterwards, one transaction each)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from agents import heartbeats
from agents import services as agents
from agents.models import AgentPresence, AgentProfile
from chat import events, realtime, recipients
from chat import selectors as chat_selectors
from chat.actors import Actor
from chat.exceptions import PermissionDenied
from chat.names import user_name
from chat.socket_reads import session_snapshot
from routing import console as routing_console
from routing.models import Queue
from routing.services import (
    agent_conversations_requeue,
    agent_offers_revoke_on_commit,
    conversation_assign,
    conversation_invite,
    conversation_leave,
    conversation_transfer,
    customer_nudge,
    reservation_accept,
    reservation_decline,
    router_kick_agent,
)

Status = AgentPresence.Status

# What a console does to routing directly: the services themselves, named here so that
# entry points reach routing only through this layer.
conversation_take = conversation_assign
__all__ = [
    "agent_console_connect",
    "agent_console_disconnect",
    "agent_heartbeat",
    "agent_presence_set",
    "console_snapshot",
    "conversation_invite",
    "conversation_leave",
    "conversation_take",
    "conversation_transfer",
    "customer_nudge",
    "reservation_accept",
    "reservation_decline",
    "transfer_targets",
]


def _route_on_commit(user_id: int) -> None:
    transaction.on_commit(partial(router_kick_agent, user_id=user_id))


@transaction.atomic
def agent_console_connect(
    *, user, channel_name: str, now: dt.datetime | None = None
) -> AgentPresence:
    """A console opened: the agent is live again, and an online agent is offered work."""
    presence = agents.agent_console_connect(user=user, channel_name=channel_name, now=now)
    if presence.status == Status.ONLINE:
        _route_on_commit(user.pk)
    return presence


@transaction.atomic
def agent_console_disconnect(
    *, user_id: int, channel_name: str, now: dt.datetime | None = None
) -> AgentPresence | None:
    """A console closed; if it was the agent's last, their open offers go to others."""
    presence = agents.agent_console_disconnect(user_id=user_id, channel_name=channel_name, now=now)
    if presence is not None and presence.console_lost_at is not None:
        agent_offers_revoke_on_commit(
            user_id=user_id, reason="the agent's console went away", now=now
        )
    return presence


def _reconnect(user_id: int, channel_name: str, now: dt.datetime) -> None:
    """A console whose batched heartbeat found it given up on by the sweeper."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        agent_console_connect(user=user, channel_name=channel_name, now=now)


heartbeats.buffer.on_lost = _reconnect


def agent_heartbeat_soon(*, user, channel_name: str) -> dict[str, Any]:
    """A console ping from a socket: noted for the next batch (no write of its own), and
    the pong's list of the agent's open offers (see agent_heartbeat)."""
    heartbeats.buffer.note(user_id=user.pk, channel_name=channel_name)
    return {"offers": routing_console.agent_console_offers(user_id=user.pk)}


def agent_heartbeat(*, user, channel_name: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """A console ping: the agent's heartbeat (a console the sweeper had given up on
    reconnects and is offered work), and the pong's list of the agent's open offers, so an
    offer whose push was lost shows up within a heartbeat instead of expiring unseen."""
    with transaction.atomic():
        presence = agents.agent_heartbeat(user=user, channel_name=channel_name, now=now)
        if presence.pk is not None and presence.status == Status.ONLINE:  # it reconnected
            _route_on_commit(user.pk)
    return {"offers": routing_console.agent_console_offers(user_id=user.pk, now=now)}


@transaction.atomic
def agent_presence_set(
    *,
    actor: Actor,
    status: Any,
    user_id: int | None = None,
    now: dt.datetime | None = None,
    away_reason: Any = None,
) -> AgentPresence:
    """An agent (or a supervisor, for anyone) sets a status: online looks for work, any
    other status hands the agent's open offers on."""
    presence = agents.agent_presence_set(
        actor=actor, status=status, user_id=user_id, now=now, away_reason=away_reason
    )
    if presence.status == Status.ONLINE:
        _route_on_commit(presence.user_id)
    else:
        agent_offers_revoke_on_commit(
            user_id=presence.user_id, reason=f"the agent went {presence.status}", now=now
        )
    return presence


def console_snapshot(*, actor: Actor) -> dict[str, Any]:
    """A console's hello: its conversations, and its open offers and presence back."""
    return session_snapshot(actor=actor) | routing_console.agent_console_snapshot(user=actor.user)


def transfer_targets(*, actor: Actor, conversation_id: int) -> dict[str, Any]:
    """Where the console may transfer a conversation: the other agents with their presence
    and load (an agent can take it only online, live and under capacity), and the active
    queues."""
    if actor.kind != "agent":
        raise PermissionDenied("Only agents transfer conversations.")
    conversation = chat_selectors.conversation_get_for_actor(
        actor=actor, conversation_id=conversation_id
    )
    now = timezone.now()
    presences = (
        AgentPresence.objects.exclude(user_id=actor.user.pk)
        .filter(user__is_active=True)
        .select_related("user__agent_profile")
        .order_by("user__first_name", "user__username")
    )
    agents_out = [
        {
            "id": p.user_id,
            "name": user_name(p.user),
            "status": p.status,
            "live": p.is_live(now),
            "load": p.load,
            "capacity": p.capacity,
            "available": p.is_available(now),
        }
        for p in presences
    ]
    queues = [
        {"id": q.pk, "name": q.name, "current": q.pk == conversation.queue_id}
        for q in Queue.objects.filter(is_active=True).order_by("name")
    ]
    return {"conversation": conversation.pk, "agents": agents_out, "queues": queues}


@transaction.atomic
def agent_account_closed(
    *, user_id: int, now: dt.datetime | None = None, why: str = "This account was deactivated."
) -> int:
    """An agent's account made inactive (admin): every console of theirs is ended now (a
    socket outlives its login: it was authenticated when it opened), they go offline, their
    open offers go to others and their chats back to the line, each customer told. Returns
    how many chats moved. Idempotent: nothing left to move, nothing happens."""
    now = now or timezone.now()
    agents.agent_account_closed(user_id=user_id, now=now)
    agent_offers_revoke_on_commit(
        user_id=user_id, reason="the agent's account was deactivated", now=now
    )
    moved = agent_conversations_requeue(
        user_id=user_id, reason="the agent's account was deactivated", now=now
    )
    realtime.publish_on_commit(
        [recipients.user_group(user_id)],
        events.frame(events.SESSION_ENDED, reason=why),
    )
    return moved


def user_saved(sender, instance, created: bool = False, **kwargs: Any) -> None:
    """post_save of the user model (bound in ActionsConfig.ready): an agent's account made
    inactive, from admin or anywhere, ends their consoles and hands their work on."""
    if created or instance.is_active:
        return
    # Any agent: a console may be open though nothing in the database says so yet (its
    # connection and heartbeats are written in batches), and it was authenticated when it
    # opened. A repeat only tells consoles that are already gone.
    if AgentProfile.objects.filter(user_id=instance.pk).exists():
        agent_account_closed(user_id=instance.pk)


def profile_deleted(sender, instance, **kwargs: Any) -> None:
    """post_delete of an agent profile (admin, *Agent profiles → Delete*): no longer an
    agent, so as for a deactivated account, their consoles end and their work goes on."""
    agent_account_closed(user_id=instance.user_id, why="This account is no longer an agent.")
