"""The floor's active chats: who holds which conversation, and whose customer has waited
longest for a reply (against the queue's reply target), from the real take and messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from agents.models import AgentProfile
from chat import events
from chat.models import Conversation
from routing.services import conversation_assign
from supervision.floor import active_list, floor_snapshot
from tests.factories import agent_actor, customer_actor
from tests.routing.conftest import make_queue, online_agent, waiting

pytestmark = pytest.mark.django_db


def _say(conversation: Conversation, actor, body: str, key: str) -> None:
    conversation_actions.message_send(
        actor=actor, conversation_id=conversation.pk, body=body, client_msg_id=key
    )


def test_held_chats_are_listed_the_longest_unanswered_first(published):
    queue = make_queue(name="Billing", sla_seconds=60)
    ann = online_agent(queue, capacity=5, connect=False)
    AgentProfile.objects.filter(user=ann).update(display_name="Ann Lee")  # as customers see her
    answered, unanswered, silent = waiting(queue), waiting(queue), waiting(queue)
    for c in (answered, unanswered, silent):
        conversation_assign(actor=agent_actor(ann), conversation_id=c.pk)
    _say(unanswered, customer_actor(unanswered.customer), "where is my refund?", "u1")
    _say(answered, customer_actor(answered.customer), "hello", "a1")
    _say(answered, agent_actor(ann), "Hi, looking now", "a2")
    # Never written to: the customer waits for a first reply from the handoff (its queueing)
    # until the agent greets them.
    assert Conversation.objects.get(pk=silent.pk).awaiting_since is not None
    _say(silent, agent_actor(ann), "Hello, how can I help?", "s1")
    still_queued = waiting(queue)  # not held by anyone: the waiting list's, not this one's

    later = timezone.now() + dt.timedelta(seconds=90)
    rows = active_list(later)
    assert [r["conversation"] for r in rows] == [unanswered.pk, answered.pk, silent.pk]
    assert still_queued.pk not in {r["conversation"] for r in rows}
    first = rows[0]
    assert (first["agent"], first["agent_name"], first["queue"]) == (ann.pk, "Ann Lee", "Billing")
    assert first["customer"] == unanswered.customer.display_name
    assert first["reply_target"] == 60
    assert 90 <= first["awaiting_s"] < 120 and first["past_target"] is True
    assert rows[1]["awaiting_s"] is None and rows[1]["past_target"] is False
    assert rows[2]["assigned_s"] >= 90


def test_a_resolved_chat_leaves_the_list_and_the_snapshot_declares_it(published):
    queue = make_queue()
    bob = online_agent(queue, connect=False)
    conversation = waiting(queue)
    conversation_assign(actor=agent_actor(bob), conversation_id=conversation.pk)
    snap = floor_snapshot()
    assert [r["conversation"] for r in snap["active"]] == [conversation.pk]
    assert set(snap) == events.FLOOR_SNAPSHOT.fields
    conversation_actions.conversation_resolve(
        actor=agent_actor(bob), conversation_id=conversation.pk
    )
    assert floor_snapshot()["active"] == []
