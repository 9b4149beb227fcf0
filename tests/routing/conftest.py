"""Builders for routing tests: queues, agents with a live console, waiting customers.

Time is controlled by passing ``now`` into services and sweepers; nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from actions.agents import agent_console_connect, agent_heartbeat, agent_presence_set
from agents.models import AgentPresence, AgentProfile
from chat.models import Conversation, ConversationEvent
from routing.models import Queue, QueueEntry, Reservation
from routing.selectors import stats_cache_clear
from tests.chat.conftest import LayerRecorder
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_stats():
    stats_cache_clear()  # the per-process rate cache must not leak between tests
    yield
    stats_cache_clear()


@pytest.fixture
def published(settings):
    from channels.layers import get_channel_layer

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return LayerRecorder(get_channel_layer())


def make_queue(**kw) -> Queue:
    kw.setdefault("name", f"Queue {next(_n)}")
    kw.setdefault("limit_mode", Queue.LimitMode.NONE)
    return Queue.objects.create(**kw)


def console(user, *, now: dt.datetime | None = None, tab: str = "1") -> AgentPresence:
    """Open a console for the agent (they come online) and return their presence."""
    return agent_console_connect(user=user, channel_name=f"test.{user.pk}.{tab}", now=now)


def heartbeat(user, *, now: dt.datetime, tab: str = "1") -> None:
    agent_heartbeat(user=user, channel_name=f"test.{user.pk}.{tab}", now=now)


def online_agent(queue: Queue | list[Queue], *, capacity: int = 3, skills=(), languages=("en",),
                 connect: bool = True, now: dt.datetime | None = None, **kw):  # fmt: skip
    """An agent subscribed to the queue(s), online with a live console."""
    user = make_agent(
        max_concurrent_chats=capacity, skills=list(skills), languages=list(languages), **kw
    )
    queues = queue if isinstance(queue, list) else [queue]
    AgentProfile.objects.get(user=user).queues.add(*queues)
    if connect:
        console(user, now=now)
    return user


def set_status(user, status: str) -> None:
    agent_presence_set(actor=agent_actor(user), status=status)


def waiting(queue: Queue | None = None, **kw) -> Conversation:
    """A customer starts a conversation in ``queue`` (the router runs after commit)."""
    site = make_site(default_queue=queue) if queue else make_site()
    customer = make_customer(site=site, **kw)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation.refresh_from_db()
    return conversation


def open_offer(conversation: Conversation) -> Reservation | None:
    return Reservation.objects.filter(conversation=conversation, state="offered").first()


def entry_of(conversation: Conversation) -> QueueEntry:
    return QueueEntry.objects.filter(conversation=conversation).order_by("-id").first()


def decisions(conversation: Conversation) -> list[ConversationEvent]:
    return list(conversation.events.filter(type="routing.decision").order_by("id"))


def presence(user) -> AgentPresence:
    return AgentPresence.objects.get(user=user)


def later(seconds: float, base: dt.datetime | None = None) -> dt.datetime:
    return (base or timezone.now()) + dt.timedelta(seconds=seconds)
