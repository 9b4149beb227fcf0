"""The bot answers a greeting instead of correcting it, speaks the catalog's language, and
promises no agent when the queue the conversation goes to will say nobody is there."""

from __future__ import annotations

import pytest

from bots.smalltalk import is_greeting
from routing.models import Queue, QueueEntry
from routing.services import router_kick_entry
from tests.bots.conftest import Chat, make_flow
from tests.bots.test_engine import CHOICE_GRAPH, graph, msg

pytestmark = pytest.mark.django_db

PROMISE = "One of our experts will join you in a moment."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", True),
        ("hi there!", True),
        ("Bonjour !", True),
        ("Guten Tag", True),
        ("buenos días", True),
        ("Ciao a tutti", True),
        ("Hello, where is my order?", False),
        ("Hi, I have a question", False),
        ("An order", False),
        ("", False),
    ],
)
def test_greetings_are_told_from_questions(text, expected):
    assert is_greeting(text) is expected


def test_a_greeting_is_answered_and_the_question_asked_again_without_a_retry():
    chat = Chat(make_flow(CHOICE_GRAPH))
    replies = chat.send("Hello!")
    assert [m.body for m in replies] == ["Hello! Order or product?"]
    assert [b["id"] for b in replies[0].data["buttons"]] == ["order", "product"]
    assert chat.session.retries == 0 and chat.session.node == "pick"
    # A real wrong answer is still corrected.
    assert [m.body for m in chat.send("what?")] == ["Please pick one."]


def test_the_greeting_and_the_defaults_come_from_the_catalog_in_the_conversation_language():
    flow = make_flow(
        graph(
            {
                "hello": msg({"en": "Hi!", "fr": "Salut !"}, "pick"),
                "pick": {**CHOICE_GRAPH["nodes"]["pick"], "retry_text": None},
                "a": CHOICE_GRAPH["nodes"]["a"],
                "b": CHOICE_GRAPH["nodes"]["b"],
            }
        )
    )
    chat = Chat(flow, language="fr-FR")
    assert [m.body for m in chat.send("Bonjour")] == ["Bonjour ! Commande ou produit ?"]
    assert [m.body for m in chat.send("quoi ?")] == ["Choisissez l'une des options."]


def outlook_flow():
    return make_flow(
        graph(
            {
                "hello": msg("Hi!", "go"),
                "go": {"type": "handoff", "queue": "Experts", "text": PROMISE},
            }
        )
    )


def test_the_bot_does_not_promise_an_agent_when_the_queue_is_closed():
    Queue.objects.create(name="Experts", business_hours={"mon": []})  # never open
    chat = Chat(outlook_flow())
    bodies = [m.body for m in chat.bot_messages()]
    assert PROMISE not in bodies
    assert bodies[-1].startswith("Thanks! Nobody from our team can join right now.")
    assert chat.conversation.status == "queued"


def test_the_bot_does_not_promise_an_agent_when_the_queue_is_over_its_limit():
    Queue.objects.create(name="Experts", limit_mode=Queue.LimitMode.FIXED, max_waiting=0)
    chat = Chat(outlook_flow())
    assert chat.bot_messages()[-1].body.startswith("Thanks! Nobody from our team")
    # ...which is what the router's first decision then tells the customer.
    entry = QueueEntry.objects.get(conversation=chat.conversation)
    router_kick_entry(entry_id=entry.pk)
    entry.refresh_from_db()
    assert entry.mode == QueueEntry.Mode.OFFLINE


def test_the_bot_keeps_its_promise_when_the_queue_takes_live_chats():
    Queue.objects.create(name="Experts", limit_mode=Queue.LimitMode.NONE)  # open, no limit
    chat = Chat(outlook_flow())
    assert chat.bot_messages()[-1].body == PROMISE
