"""Text search finds what the searcher is shown: a word moderation masked is found only as
its mask, by a key, by an agent over REST and in the console's search (chat.context), so
that nobody can confirm a guessed masked word. The sender alone finds their own words."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat.context import conversation_search
from chat.models import Message
from tests.api.conftest import key_client, visitor_client
from tests.factories import agent_actor
from tests.pipeline.helpers import make_chat

pytestmark = pytest.mark.django_db
URL = "/api/v1/conversations/"
SAID = "this shit service is fucking bad"
SHOWN = "this s*** service is f****** bad"


@pytest.fixture
def chat():
    chat = make_chat(locale="en")
    message = chat.customer_says(SAID, "c1")
    message.refresh_from_db()
    assert message.moderation == Message.Moderation.MASKED
    assert message.recipient_body == SHOWN  # the recipients' copy, as stored
    return chat


def _found(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [c["id"] for c in answer.json()["results"]]


def test_a_key_finds_the_masked_text_not_the_original(chat):
    api, _ = key_client()
    assert _found(api.get(URL, {"q": "fucking"})) == []
    assert _found(api.get(URL, {"q": "shit service"})) == []
    assert _found(api.get(URL, {"q": "f*****"})) == [chat.conversation.pk]
    assert _found(api.get(URL, {"q": "service is"})) == [chat.conversation.pk]


def test_an_agent_over_rest_finds_the_masked_text_not_the_original(chat):
    agent = APIClient()
    agent.force_login(chat.agent)
    assert _found(agent.get(URL, {"q": "fucking"})) == []
    assert _found(agent.get(URL, {"q": "F******"})) == [chat.conversation.pk]


def test_the_sender_finds_their_own_words(chat):
    visitor = visitor_client(chat.customer)
    assert _found(visitor.get(URL, {"q": "fucking"})) == [chat.conversation.pk]


def test_the_console_search_finds_and_shows_the_masked_text_only(chat):
    actor = agent_actor(chat.agent)
    assert conversation_search(actor=actor, query="fucking") == []
    [hit] = conversation_search(actor=actor, query="f******")
    assert hit["id"] == chat.conversation.pk
    assert hit["match"] == SHOWN  # the line shown is the masked one too


def test_an_agent_finds_their_own_moderated_words(chat):
    chat.conversation.site.moderate_agent_messages = True
    chat.conversation.site.save(update_fields=["moderate_agent_messages"])
    mine = chat.agent_says("what a fucking mess", "a1")
    mine.refresh_from_db()
    assert mine.moderation == Message.Moderation.MASKED
    [hit] = conversation_search(actor=agent_actor(chat.agent), query="fucking mess")
    assert hit["match"] == "what a fucking mess"  # their own words, as they read them
    api, _ = key_client()
    assert _found(api.get(URL, {"q": "fucking mess"})) == []
