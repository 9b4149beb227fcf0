"""Every integration event in chat.events.HOOK_EVENTS comes from the real action that causes
it, with the fields it declares (the webhook-side twin of tests/events/)."""

from __future__ import annotations

import json

import pytest

from chat import services as chat
from chat.actors import Actor
from chat.events import BROADCAST_EVENTS, HOOK_EVENTS
from chat.flows import flows
from integrations.models import HookEvent
from routing.models import Queue
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def bodies(type_: str) -> list[dict]:
    return [e.body for e in HookEvent.objects.filter(type=type_).order_by("id")]


def check(body: dict, name: str) -> dict:
    assert body["type"] == name and body["timestamp"]
    data = body["data"]
    assert set(data) == {"conversation"} | HOOK_EVENTS[name].data
    return data


def test_each_event_from_its_action(site, start, send, endpoint):
    endpoint(events=list(BROADCAST_EVENTS))
    agent = make_agent("ana")
    agent.agent_profile.queues.add(site.default_queue)
    flows.agent_console_connect(user=agent, channel_name="test.ana")
    conversation = start()
    [created] = bodies("conversation.created")
    assert check(created, "conversation.created")["conversation"]["id"] == conversation.pk

    send(conversation, "hello")
    [message] = bodies("message.created")
    data = check(message, "message.created")
    assert data["message"]["body"] == "hello" and data["message"]["sender"]["role"] == "customer"

    flows.conversation_take(actor=Actor.for_agent(agent), conversation_id=conversation.pk)
    [assigned] = bodies("conversation.assigned")
    assert check(assigned, "conversation.assigned")["agent"]["id"] == agent.pk
    assert assigned["data"]["conversation"]["assignee"]["id"] == agent.pk

    billing = Queue.objects.create(name="Billing")
    flows.conversation_transfer(
        actor=Actor.for_agent(agent), conversation_id=conversation.pk, to_queue_id=billing.pk,
        note="needs billing",
    )  # fmt: skip
    [transferred] = bodies("conversation.transferred")
    data = check(transferred, "conversation.transferred")
    assert (data["from_agent"], data["to_queue"]) == (agent.pk, billing.pk)
    # The transfer's note is an internal note: agents only, never in a webhook.
    assert "needs billing" not in json.dumps(transferred)
    chat.note_add(
        actor=Actor.for_agent(agent), conversation_id=conversation.pk, body="SECRET-NOTE refund"
    )
    assert not any("SECRET-NOTE" in json.dumps(e.body) for e in HookEvent.objects.all())

    agent.agent_profile.queues.add(billing)
    flows.conversation_take(actor=Actor.for_agent(agent), conversation_id=conversation.pk)
    flows.conversation_resolve(actor=Actor.for_agent(agent), conversation_id=conversation.pk)
    [resolved] = bodies("conversation.resolved")
    assert check(resolved, "conversation.resolved")["from_status"] == "assigned"

    locked = chat.conversation_lock(conversation.pk)
    chat.event_record(
        conversation=locked, type="csat.submitted", data={"score": 4, "source": "bot"}
    )
    [csat] = bodies("csat.submitted")
    assert check(csat, "csat.submitted")["score"] == 4


def test_timeline_lines_are_not_message_events(site, start, send, endpoint):
    endpoint(events=["message.created"])
    conversation = start()
    chat.event_message_post(conversation=chat.conversation_lock(conversation.pk), body="Ana joined")
    assert bodies("message.created") == []


def test_an_undeclared_event_or_field_is_refused(start):
    from chat import hooks
    from chat.events import HOOK_CSAT_SUBMITTED, HookEventType

    conversation = start()
    with pytest.raises(ValueError, match="declared"):
        hooks.emit(conversation=conversation, event=HOOK_CSAT_SUBMITTED, score=5)
    fake = HookEventType(name="made.up", data=frozenset(), description="")
    with pytest.raises(ValueError, match="not declared"):
        hooks.emit(conversation=conversation, event=fake)


def test_an_undone_resolve_is_a_conversation_assigned(site, start, endpoint):
    """The console's Undo (conversation.unresolve) tells integrations what any assignment
    does, after the resolve they were told of: conversation.assigned, to the same agent."""
    endpoint(events=["conversation.resolved", "conversation.assigned"])
    agent = make_agent("bo")
    agent.agent_profile.queues.add(site.default_queue)
    flows.agent_console_connect(user=agent, channel_name="test.bo")
    conversation = start()
    flows.conversation_take(actor=Actor.for_agent(agent), conversation_id=conversation.pk)
    flows.conversation_resolve(actor=Actor.for_agent(agent), conversation_id=conversation.pk)
    flows.conversation_unresolve(actor=Actor.for_agent(agent), conversation_id=conversation.pk)
    types = list(HookEvent.objects.order_by("id").values_list("type", flat=True))
    assert types == ["conversation.assigned", "conversation.resolved", "conversation.assigned"]
    undone = bodies("conversation.assigned")[-1]
    assert check(undone, "conversation.assigned")["agent"]["id"] == agent.pk
    assert undone["data"]["conversation"]["status"] == "assigned"
