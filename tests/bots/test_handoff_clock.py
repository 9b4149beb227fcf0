"""The reply timer after a bot's handoff: the customer waits for a person from the handoff,
whatever the bot said last (a probe's agent saw no timer on a chat whose customer had
waited three minutes, because the bot's "an expert will join you" had stopped it)."""

from __future__ import annotations

import pytest

from actions import conversations as conversation_actions
from chat.models import Conversation
from chat.services.messages import message_create, system_participant
from routing.services import conversation_assign
from tests.bots.conftest import Chat, make_flow
from tests.bots.test_engine import CHOICE_GRAPH
from tests.factories import agent_actor, make_agent

pytestmark = pytest.mark.django_db


def awaiting(chat: Chat):
    return Conversation.objects.get(pk=chat.conversation.pk).awaiting_since


def test_the_clock_starts_at_the_handoff_and_only_a_person_stops_it():
    chat = Chat(make_flow(CHOICE_GRAPH))
    chat.click("order")  # the bot answers ("Passing you on.") and hands off
    conversation = chat.refresh()
    assert conversation.status in ("queued", "offered")
    started = awaiting(chat)
    assert started == conversation.queued_at
    agent = make_agent("ines")
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    # A bot line once a person has it answers nothing: the clock runs on.
    held = Conversation.objects.get(pk=conversation.pk)
    message_create(
        conversation=held,
        sender=system_participant(held, "bot"),
        body="Ines has joined.",
        kind="bot",
    )
    assert awaiting(chat) == started
    conversation_actions.message_send(
        actor=agent_actor(agent),
        conversation_id=conversation.pk,
        body="Hi, I am Ines.",
        client_msg_id="a-1",
    )
    assert awaiting(chat) is None


def test_while_the_bot_has_it_the_bots_answer_stops_the_clock():
    chat = Chat(make_flow(CHOICE_GRAPH))
    chat.send("something the buttons do not say")  # the bot asks again: an answer
    assert chat.refresh().status == "bot"
    assert awaiting(chat) is None
