"""A silent customer: "Are you still there?" in one click, then the queue's customer-left
policy closes the chat if they stay silent (routing.services.silence)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from chat.exceptions import Conflict, NotFound, PermissionDenied
from chat.models import Conversation, Message
from routing.models import Queue
from routing.services import conversation_assign, customer_nudge, silent_customer_sweep
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def _assigned(close_after: int | None = 120):
    queue = Queue.objects.create(name=f"Q{close_after}", silence_close_seconds=close_after)
    customer = make_customer(site=make_site(default_queue=queue))
    agent = make_agent()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_actions.message_send(actor=customer_actor(customer),
                                      conversation_id=conversation.pk, body="hi",
                                      client_msg_id="c1")  # fmt: skip
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    return conversation, customer, agent


def _status(conversation) -> str:
    return Conversation.objects.get(pk=conversation.pk).status


def test_a_customer_who_stays_silent_after_the_nudge_has_left():
    conversation, _, agent = _assigned(close_after=120)
    message = customer_nudge(actor=agent_actor(agent), conversation_id=conversation.pk)
    assert message.body == "Are you still there?" and message.sender.role == "agent"
    now = timezone.now()
    assert silent_customer_sweep(now=now + dt.timedelta(seconds=100)) == 0
    assert _status(conversation) == "assigned"
    assert silent_customer_sweep(now=now + dt.timedelta(seconds=130)) == 1
    assert _status(conversation) == "resolved"
    last = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    assert last.body == "Conversation closed: the customer left."


def test_an_answer_or_a_queue_without_the_policy_keeps_the_chat_open():
    conversation, customer, agent = _assigned(close_after=120)
    customer_nudge(actor=agent_actor(agent), conversation_id=conversation.pk)
    conversation_actions.message_send(actor=customer_actor(customer),
                                      conversation_id=conversation.pk, body="yes, here",
                                      client_msg_id="c2")  # fmt: skip
    later = timezone.now() + dt.timedelta(hours=1)
    assert silent_customer_sweep(now=later) == 0
    assert _status(conversation) == "assigned"

    kept, _, agent2 = _assigned(close_after=None)
    customer_nudge(actor=agent_actor(agent2), conversation_id=kept.pk)
    assert silent_customer_sweep(now=later) == 0
    assert _status(kept) == "assigned"


def test_only_the_assigned_agent_nudges():
    conversation, customer, _agent = _assigned()
    other = make_agent()
    with pytest.raises(NotFound):  # not theirs: they may not even see it
        customer_nudge(actor=agent_actor(other), conversation_id=conversation.pk)
    with pytest.raises(PermissionDenied):
        customer_nudge(actor=customer_actor(customer), conversation_id=conversation.pk)
    conversation_actions.conversation_resolve(
        actor=agent_actor(_agent), conversation_id=conversation.pk
    )
    with pytest.raises(Conflict):  # resolved: nothing to ask
        customer_nudge(actor=agent_actor(_agent), conversation_id=conversation.pk)
