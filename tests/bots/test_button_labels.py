"""A bot's buttons in every language of its flow (`labels`, docs/protocol.md "Bot
messages"), and the bot following the customer when their widget changes language
(Parley.setLocale reloads the widget, whose visitor session reports the new locale)."""

from __future__ import annotations

import pytest

from bots.graph import graph_languages
from bots.models import Flow
from bots.person_request import BUTTON_LABEL, PERSON_BUTTON_ID
from chat.models import ConversationEvent
from chat.services import visitor_session_create, visitor_token_issue
from tests.bots.conftest import Chat, make_flow
from tests.bots.test_engine import CHOICE_GRAPH, graph, handoff

pytestmark = pytest.mark.django_db

ONE_LANGUAGE = graph(
    {
        "pick": {
            "type": "choice",
            "text": {"en": "Order or product?"},
            "buttons": [
                {"id": "order", "label": {"en": "An order"}, "next": "done"},
                {"id": "product", "label": "A product", "next": "done"},
            ],
        },
        "done": {"type": "handoff", "text": "Passing you on."},
    },
    start="pick",
)

TWO_INTENTS = graph(
    {
        "hello": {
            "type": "intent",
            "text": {"en": "What is it about?", "fr": "C'est à quel sujet ?"},
            "threshold": 0.35,
            "intents": [
                {
                    "id": "late",
                    "label": {"en": "Late delivery", "fr": "Livraison en retard"},
                    "examples": {"en": ["my parcel is late", "where is my delivery"]},
                    "next": "bye",
                },
                {
                    "id": "refund",
                    "label": {"en": "A refund", "fr": "Un remboursement"},
                    "examples": {"en": ["I want a refund", "give me my money back"]},
                    "next": "bye",
                },
            ],
            "fallback": "bye",
        },
        "bye": handoff(),
    }
)


def by_id(message) -> dict[str, dict]:
    return {b["id"]: b for b in message.data["buttons"]}


def test_the_flow_languages_are_every_language_it_has_a_text_in():
    assert graph_languages(CHOICE_GRAPH) == ("en", "de", "fr")
    assert graph_languages(ONE_LANGUAGE) == ("en",)
    with_variant = graph(
        {
            "hello": {
                "type": "message",
                "text": "Hi",
                "next": "hello",
                "variants": [{"id": "b", "text": {"it": "Ciao", "en": "Hi"}}],
            }
        },
        default_language="es",
    )
    assert graph_languages(with_variant) == ("es", "en", "it")


def test_a_choice_says_each_button_in_every_language_of_the_flow():
    chat = Chat(make_flow(CHOICE_GRAPH), language="fr")
    buttons = by_id(chat.last_bot())
    # `label` stays in the conversation's language, for clients that know no `labels`.
    assert buttons["order"]["label"] == "Une commande"
    assert buttons["order"]["labels"] == {"en": "An order", "fr": "Une commande", "de": "An order"}
    assert buttons["product"]["labels"]["fr"] == "Un produit"


def test_the_re_asked_choice_and_its_talk_to_someone_button_carry_labels_too():
    chat = Chat(make_flow(CHOICE_GRAPH))
    reply = chat.send("what?")[-1]
    buttons = by_id(reply)
    assert buttons["order"]["labels"]["fr"] == "Une commande"
    assert buttons[PERSON_BUTTON_ID] == {
        "id": PERSON_BUTTON_ID,
        "label": "Talk to someone",
        "labels": BUTTON_LABEL,
    }


def test_a_clarifying_question_gives_the_intents_in_every_language():
    chat = Chat(make_flow(TWO_INTENTS))
    reply = chat.send("hmm, the thing")[-1]
    assert reply.data["clarify"] is True
    buttons = by_id(reply)
    assert buttons["late"]["label"] == "Late delivery"
    assert buttons["late"]["labels"] == {"en": "Late delivery", "fr": "Livraison en retard"}
    assert buttons["refund"]["labels"]["fr"] == "Un remboursement"
    assert buttons[PERSON_BUTTON_ID]["labels"] == BUTTON_LABEL


def test_a_one_language_flow_sends_no_labels_at_all():
    chat = Chat(make_flow(ONE_LANGUAGE))
    assert chat.last_bot().data["buttons"] == [
        {"id": "order", "label": "An order"},
        {"id": "product", "label": "A product"},
    ]
    reply = chat.send("what?")[-1]
    # The re-ask, its "Talk to someone" button included: the widget says that one itself.
    assert all("labels" not in b for b in reply.data["buttons"])
    assert PERSON_BUTTON_ID in by_id(reply)


def test_the_satisfaction_buttons_are_digits_without_labels():
    flow = make_flow(
        graph(
            {
                "hello": {
                    "type": "choice",
                    "text": {"en": "Done?", "fr": "Fini ?"},
                    "buttons": [{"id": "y", "label": {"en": "Yes", "fr": "Oui"}, "next": "bye"}],
                },
                "bye": {"type": "end", "text": {"en": "Bye!", "fr": "Salut !"}, "csat": True},
            }
        ),
        goal=Flow.Goal.RESOLVED,
    )
    chat = Chat(flow)
    reply = chat.click("y")[-1]
    assert reply.data["csat"] is True
    assert [b for b in reply.data["buttons"] if "labels" in b] == []


# --- the customer's widget changes language mid-chat ------------------------------------
def session(chat: Chat, locale: str, on_commit) -> None:
    """What the widget does when it loads (again, after Parley.setLocale)."""
    with on_commit(execute=True):
        visitor_session_create(
            site_key=chat.site.key,
            origin=None,
            token=visitor_token_issue(customer=chat.customer),
            locale=locale,
        )
    chat.refresh()


def test_a_new_widget_locale_makes_the_bots_next_texts_use_it(on_commit, published):
    chat = Chat(make_flow(CHOICE_GRAPH), language="en", locale="en")
    assert chat.last_bot().body == "Order or product?"
    published.listen(f"cust.{chat.customer.pk}")
    session(chat, "fr", on_commit)
    assert chat.customer.locale == "fr"
    assert chat.conversation.language == "fr"
    customer = chat.conversation.participants.get(role="customer")
    assert customer.language == "fr"  # what the customer reads: translations follow too
    event = ConversationEvent.objects.get(conversation=chat.conversation, type="language.changed")
    assert event.data == {"language": "fr", "previous": "en"}
    # The widget hears the new language (consoles too: the same conversation.updated).
    updates = [
        f["conversation"]
        for f in published.frames(f"cust.{chat.customer.pk}")
        if f["type"] == "conversation.updated"
    ]
    assert updates and updates[-1]["language"] == "fr"
    # The bot's next message is in French, its buttons' `label` too.
    reply = chat.send("what?")[-1]
    assert by_id(reply)["order"]["label"] == "Une commande"
    assert chat.session.retries == 1


def test_the_same_locale_again_changes_nothing(on_commit):
    chat = Chat(make_flow(CHOICE_GRAPH), language="fr", locale="fr")
    session(chat, "fr", on_commit)
    session(chat, "FR", on_commit)  # the same language in other letters
    assert chat.conversation.language == "fr"
    assert not ConversationEvent.objects.filter(type="language.changed").exists()


def test_a_settled_language_follows_the_customers_choice(on_commit):
    from django.utils import timezone

    chat = Chat(make_flow(CHOICE_GRAPH), language="en", locale="en")
    chat.conversation.language_settled_at = timezone.now()
    chat.conversation.save(update_fields=["language_settled_at"])
    session(chat, "fr", on_commit)
    assert chat.conversation.language == "fr"
    assert chat.conversation.language_settled_at is not None
    reply = chat.send("what?")[-1]
    assert by_id(reply)["order"]["label"] == "Une commande"


def test_a_closed_conversation_keeps_its_language(on_commit):
    chat = Chat(make_flow(CHOICE_GRAPH), language="en", locale="en")
    chat.conversation.status = "resolved"
    chat.conversation.save(update_fields=["status"])
    session(chat, "fr", on_commit)
    assert chat.customer.locale == "fr"
    assert chat.conversation.language == "en"
