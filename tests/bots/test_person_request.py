"""A way out of the bot to a person: a typed request for one at any question, or the
"Talk to someone" button of a re-asked question, hands off at once through the real
routing; a flow can opt out."""

from __future__ import annotations

import pytest

from bots.graph_validation import validate_graph
from bots.person_request import BUTTON_LABEL, HANDOFF_TEXT, PERSON_BUTTON_ID, asks_for_person
from bots.services.engine_base import system_text
from chat.models import Note
from routing.models import Reservation
from tests.bots.conftest import Chat, make_flow
from tests.bots.test_engine import CHOICE_GRAPH, INTENT_GRAPH, graph, handoff, msg
from tests.factories import make_site
from tests.routing.conftest import make_queue, online_agent

pytestmark = pytest.mark.django_db

ORDER_GRAPH = graph(
    {
        "hello": {
            "type": "input",
            "attribute": "order",
            "text": {"en": "Your order number?", "fr": "Votre numéro de commande ?"},
            "validator": {"type": "regex", "pattern": "ORD-[0-9]{5}"},
            "retry_text": "That is not an order number.",
            "next": "done",
        },
        "done": handoff(queue="Orders"),
    }
)
FREE_TEXT_GRAPH = graph(
    {
        "hello": {"type": "input", "attribute": "details", "text": "Tell us more.", "next": "bye"},
        "bye": {"type": "end", "text": "Thanks, we'll read it."},
    }
)
REQUESTS = {
    "en": "I don't have it, I want to talk to a human",
    "fr": "Je ne l'ai pas, je veux parler à quelqu'un",
    "it": "Non ce l'ho, vorrei parlare con un operatore",
    "es": "No lo tengo, quiero hablar con una persona",
    "de": "Habe ich nicht, ich möchte mit einem Mitarbeiter sprechen",
}


def opted_out(g: dict) -> dict:
    return {**g, "handoff_on_request": False}


def assert_handed_to_a_person(chat: Chat, replies, language: str = "en") -> None:
    assert chat.conversation.status == "queued"
    assert chat.conversation.queue == chat.site.default_queue  # the handoff without a node
    assert chat.session.state == "handed_off"
    transition = chat.conversation.events.get(type="status_changed", to_status="queued")
    assert transition.reason == "customer asked for a person"
    # Nobody serves the site's queue in these tests: as at any handoff, the bot says so
    # (in the customer's language) rather than promise a person.
    said = [m.body for m in replies if m.kind == "bot"]
    assert said == [system_text("handoff_offline", language)]
    assert said != [system_text("handoff_offline", "en")] or language == "en"
    assert Note.objects.get(conversation=chat.conversation).kind == "handoff"


# --- the phrase list -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        *REQUESTS.values(),
        "Agent!",
        "human please",
        "can I speak with a real person?",
        "UN HUMAIN SVP",
        "Je voudrais parler au service client",
        "un operatore per favore",
        "¿Puedo hablar con alguien?",
        "Mitarbeiter bitte",
        "Kann ich bitte einen Menschen sprechen?",
        *BUTTON_LABEL.values(),  # a customer who types the button's label
    ],
)
def test_requests_for_a_person_are_recognised(text):
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "ORD-12345",
        "I want a refund please",
        "The agent was rude",  # a complaint, not a request: the flow handles it
        "my reagent kit arrived broken",  # "agent" inside another word
        "Ich arbeite bei einer Agentur",
        "the agents were great",
        "I don't want to talk to an agent, just tell me",
        "je ne veux pas parler à un humain",
        "non voglio parlare con un operatore",
        "ich möchte nicht mit einem Menschen reden",
        "Ihr Mitarbeiter war unfreundlich",
        "I need",  # a request verb that ends the message
        "I want a",
        "",
    ],
)
def test_ordinary_answers_are_not_requests(text):
    assert not asks_for_person(text)


# --- typed requests, through the engine and routing ------------------------------------------
@pytest.mark.parametrize("language", sorted(REQUESTS))
def test_asking_for_a_person_at_an_input_step_hands_off_at_once(language):
    chat = Chat(make_flow(ORDER_GRAPH), language=language)
    replies = chat.send(REQUESTS[language])
    assert_handed_to_a_person(chat, replies, language)
    assert "order" not in chat.session.attributes  # the request is not taken as the answer


def test_a_free_text_answer_that_would_be_valid_hands_off_too():
    chat = Chat(make_flow(FREE_TEXT_GRAPH))
    replies = chat.send("I want to talk to a human")
    assert_handed_to_a_person(chat, replies)
    assert "details" not in chat.session.attributes


def test_the_request_is_offered_to_an_agent_by_the_router(on_commit):
    queue = make_queue(name="Front desk")
    agent = online_agent(queue)
    flow = make_flow(ORDER_GRAPH)
    chat = Chat(flow, site=make_site(default_flow=flow, default_queue=queue))
    with on_commit(execute=True):
        replies = chat.send("agent please")
    assert [m.body for m in replies if m.kind == "bot"] == [HANDOFF_TEXT["en"]]  # a promise
    offer = Reservation.objects.get(conversation=chat.conversation)
    assert (offer.state, offer.agent_id) == ("offered", agent.pk)
    assert chat.refresh().status == "offered"


def test_an_ordinary_answer_mentioning_an_agent_word_goes_on():
    chat = Chat(make_flow(FREE_TEXT_GRAPH))
    chat.send("My reagent kit from your agency arrived broken")
    assert chat.session.attributes["details"] == "My reagent kit from your agency arrived broken"
    assert chat.conversation.status == "resolved"  # the flow's own end, no handoff


def test_a_complaint_about_an_agent_reaches_the_intent_classifier():
    chat = Chat(make_flow(INTENT_GRAPH))
    chat.send("the agent was rude")
    assert chat.conversation.events.filter(type="bot.intent").exists()
    assert not chat.conversation.events.filter(reason="customer asked for a person").exists()


def test_the_flows_own_button_wins_over_the_phrase_list():
    g = graph(
        {
            "hello": {
                "type": "choice",
                "text": "How can we help?",
                "buttons": [
                    {"id": "faq", "label": "Read the FAQ", "next": "bye"},
                    {"id": "human", "label": "Talk to someone", "next": "vip"},
                ],
            },
            "vip": handoff(queue="VIP"),
            "bye": {"type": "end", "text": "Bye."},
        }
    )
    chat = Chat(make_flow(g))
    chat.send("talk to someone")
    assert chat.conversation.queue.name == "VIP"  # the button's edge, not the shortcut


# --- the "Talk to someone" button ------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "fr", "it", "es", "de"])
def test_a_clarifying_question_offers_talk_to_someone_and_its_click_hands_off(language):
    chat = Chat(make_flow(INTENT_GRAPH), language=language)
    replies = chat.send("hmm, the thing")
    assert chat.session.awaiting == "clarify"
    button = replies[-1].data["buttons"][-1]
    # In the conversation's language, and in the others for a widget switched later.
    assert button == {
        "id": PERSON_BUTTON_ID,
        "label": BUTTON_LABEL[language],
        "labels": BUTTON_LABEL,
    }
    replies = chat.click(PERSON_BUTTON_ID)
    assert_handed_to_a_person(chat, replies, language)


def test_a_choice_re_asked_offers_talk_to_someone_and_its_click_hands_off():
    chat = Chat(make_flow(CHOICE_GRAPH))
    assert "buttons" in chat.last_bot().data
    first_ask = [b["id"] for b in chat.last_bot().data["buttons"]]
    assert PERSON_BUTTON_ID not in first_ask  # the first ask is the flow's own
    replies = chat.send("what?")
    assert replies[0].data["buttons"][-1]["id"] == PERSON_BUTTON_ID
    replies = chat.click(PERSON_BUTTON_ID)
    assert_handed_to_a_person(chat, replies)


# --- opting out ------------------------------------------------------------------------------
def test_a_flow_can_opt_out():
    chat = Chat(make_flow(opted_out(ORDER_GRAPH)))
    replies = chat.send(REQUESTS["en"])
    assert [m.body for m in replies] == ["That is not an order number."]
    assert chat.conversation.status == "bot"
    clarify = Chat(make_flow(opted_out(INTENT_GRAPH)))
    replies = clarify.send("hmm, the thing")
    assert [b["id"] for b in replies[-1].data["buttons"]] == ["late", "refund"]
    choice = Chat(make_flow(opted_out(CHOICE_GRAPH)))
    replies = choice.send("what?")
    assert [b["id"] for b in replies[0].data["buttons"]] == ["order", "product"]
    replies = choice.send("Talk to someone", choice=PERSON_BUTTON_ID)  # a stale button
    assert choice.conversation.status == "queued"  # out of retries, as before: not asked
    assert not choice.conversation.events.filter(reason="customer asked for a person").exists()


def test_the_opt_out_field_is_validated():
    g = graph({"hello": msg("hi", "out"), "out": handoff()})
    assert validate_graph({**g, "handoff_on_request": False}) == []
    assert validate_graph({**g, "handoff_on_request": True}) == []
    assert validate_graph({**g, "handoff_on_request": "no"}) == [
        {"path": "handoff_on_request", "message": "must be true or false."}
    ]
