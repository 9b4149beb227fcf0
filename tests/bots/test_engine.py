"""The flow engine through the real services: every node type, languages, versions,
restarts, handoff into routing and lead capture."""

from __future__ import annotations

import pytest

from actions import conversations as conversation_actions
from bots.intents import _cache as intent_cache
from bots.models import BotSession, Flow
from bots.person_request import BUTTON_LABEL
from bots.services import engine, engine_base, flow_draft_save, flow_publish, validate_input
from chat import services
from chat.exceptions import ValidationError
from chat.models import Conversation, ConversationEvent, Message, Note
from routing.models import Queue
from tests.bots.conftest import Chat, make_flow

pytestmark = pytest.mark.django_db


def msg(text, nxt, **kw):
    return {"type": "message", "text": text, "next": nxt, **kw}


def handoff(**kw):
    return {"type": "handoff", "text": {"en": "Passing you on.", "fr": "Je vous passe."}, **kw}


def graph(nodes: dict, start: str = "hello", **kw) -> dict:
    return {"start": start, "nodes": nodes, **kw}


def events(conversation, type_: str) -> list[ConversationEvent]:
    return list(conversation.events.filter(type=type_).order_by("id"))


# --- message, choice -----------------------------------------------------------------------
CHOICE_GRAPH = graph(
    {
        "hello": msg({"en": "Hi!", "fr": "Salut !", "de": "Hallo!"}, "pick"),
        "pick": {
            "type": "choice",
            "attribute": "topic",
            "text": {"en": "Order or product?", "fr": "Commande ou produit ?"},
            "buttons": [
                {"id": "order", "label": {"en": "An order", "fr": "Une commande"}, "next": "a"},
                {"id": "product", "label": {"en": "A product", "fr": "Un produit"}, "next": "b"},
            ],
            "max_retries": 1,
            "retry_text": {"en": "Please pick one."},
        },
        "a": handoff(queue="Orders"),
        "b": handoff(),
    }
)


def test_start_sends_the_message_then_the_choice_with_its_buttons():
    chat = Chat(make_flow(CHOICE_GRAPH))
    first, second = chat.bot_messages()
    assert (first.body, first.kind, first.sender.role) == ("Hi!", "bot", "bot")
    assert second.body == "Order or product?"
    # The flow has texts in en, fr and de: each button says itself in all three (German
    # falls back to the default language, as the bot would say it to a German reader).
    assert second.data["buttons"] == [
        {
            "id": "order",
            "label": "An order",
            "labels": {"en": "An order", "de": "An order", "fr": "Une commande"},
        },
        {
            "id": "product",
            "label": "A product",
            "labels": {"en": "A product", "de": "A product", "fr": "Un produit"},
        },
    ]
    assert chat.conversation.status == "bot"
    assert (chat.session.node, chat.session.awaiting) == ("pick", "answer")
    assert events(chat.conversation, "bot.started")[0].data["version"] == 1


def test_a_click_follows_its_button_and_stores_the_attribute():
    Queue.objects.get_or_create(name="Orders")
    chat = Chat(make_flow(CHOICE_GRAPH))
    chat.click("order")
    assert chat.conversation.status == "queued"
    assert chat.conversation.queue.name == "Orders"
    assert chat.session.attributes == {"topic": "order"}
    assert chat.customer.attributes["topic"] == "order"
    customer_message = Message.objects.get(conversation=chat.conversation, sender__role="customer")
    assert customer_message.data == {"choice": "order"}


@pytest.mark.parametrize("typed", ["a product", "  A PRODUCT ", "2", "product"])
def test_a_typed_answer_matches_a_label_the_id_or_the_number(typed):
    chat = Chat(make_flow(CHOICE_GRAPH))
    chat.send(typed)
    assert chat.session.attributes["topic"] == "product"


def test_a_label_in_another_language_matches_too():
    chat = Chat(make_flow(CHOICE_GRAPH))
    chat.send("Une commande")
    assert chat.session.attributes["topic"] == "order"


def test_an_unknown_answer_re_asks_with_the_buttons_then_hands_off():
    chat = Chat(make_flow(CHOICE_GRAPH))
    replies = chat.send("what?")
    assert [m.body for m in replies] == ["Please pick one."]
    # The flow's buttons again, and a way to a person (bots.person_request).
    assert [b["id"] for b in replies[0].data["buttons"]] == ["order", "product", "parley:person"]
    assert chat.session.retries == 1 and chat.conversation.status == "bot"
    replies = chat.send("still no")
    # No on_fail edge: after max_retries the bot hands off to a person rather than loop.
    assert chat.conversation.status == "queued"
    assert chat.session.state == "handed_off"
    assert all(m.kind != "event" for m in replies)  # the hand-off summary is agents' only
    assert Note.objects.get(conversation=chat.conversation).kind == "handoff"


def test_a_stale_choice_id_is_not_taken_for_the_current_question():
    chat = Chat(make_flow(CHOICE_GRAPH))
    replies = chat.send("Yes", choice="yes")  # a button of an earlier question
    assert replies[0].body == "Please pick one."


def test_the_conversation_language_picks_the_text_with_fallbacks():
    flow = make_flow(CHOICE_GRAPH)
    fr = Chat(flow, language="fr-CA")
    assert [m.body for m in fr.bot_messages()] == ["Salut !", "Commande ou produit ?"]
    assert fr.last_bot().data["buttons"][0]["label"] == "Une commande"
    de = Chat(flow, language="de")  # no German choice text: the default language's
    assert [m.body for m in de.bot_messages()] == ["Hallo!", "Order or product?"]
    other = Chat(flow, language="ja")
    assert other.bot_messages()[0].body == "Hi!"


def test_the_customer_locale_is_used_when_the_conversation_has_no_language():
    flow = make_flow(CHOICE_GRAPH)
    chat = Chat(flow, language="", locale="fr")
    assert chat.bot_messages()[0].body == "Salut !"


def test_choice_must_be_a_short_string():
    chat = Chat(make_flow(CHOICE_GRAPH))
    for bad in (5, "", "x" * 65, ["order"]):
        with pytest.raises(ValidationError) as exc:
            chat.send("An order", choice=bad)
        assert exc.value.field == "choice"


def test_a_retried_send_does_not_run_a_second_step():
    chat = Chat(make_flow(CHOICE_GRAPH))
    for _ in range(2):
        conversation_actions.message_send(
            actor=chat.actor,
            conversation_id=chat.conversation.pk,
            body="nonsense",
            client_msg_id="same-id",
        )
    assert chat.session.retries == 1
    assert len(chat.bot_messages()) == 3


# --- input -----------------------------------------------------------------------------------
def input_graph(validator: dict | None, **kw) -> dict:
    node = {
        "type": "input",
        "attribute": "answer",
        "text": "Your answer?",
        "next": "done",
        "retry_text": {"en": "Invalid, again please."},
        **kw,
    }
    if validator is not None:
        node["validator"] = validator
    nodes = {"hello": node, "done": handoff()}
    if "on_fail" in kw:
        nodes[kw["on_fail"]] = handoff(queue="Fallback")
    return graph(nodes)


def test_input_hint_and_email_validation_with_re_ask():
    chat = Chat(make_flow(input_graph({"type": "email"}, max_retries=2)))
    assert chat.last_bot().data["input"] == {"type": "email"}
    replies = chat.send("zoe at example")
    assert [m.body for m in replies] == ["Invalid, again please."]
    assert replies[0].data["input"] == {"type": "email"}
    chat.send("Zoe@Example.COM")
    assert chat.session.attributes["answer"] == "Zoe@example.com"
    assert chat.conversation.status == "queued"


def test_input_goes_to_on_fail_after_max_retries():
    Queue.objects.get_or_create(name="Fallback")
    chat = Chat(make_flow(input_graph({"type": "number"}, max_retries=1, on_fail="lost")))
    chat.send("many")
    assert chat.conversation.status == "bot"
    chat.send("lots")
    assert chat.conversation.queue.name == "Fallback"
    assert "answer" not in chat.session.attributes


@pytest.mark.parametrize(
    ("validator", "body", "expected"),
    [
        ({"type": "email"}, "ana@example.org", (True, "ana@example.org")),
        ({"type": "email"}, "ana@", (False, None)),
        ({"type": "phone"}, "+33 6 12-34.56 78", (True, "+33612345678")),
        ({"type": "phone"}, "0044 20 7946 0958", (True, "+442079460958")),
        ({"type": "phone"}, "call me", (False, None)),
        ({"type": "number", "min": 1, "max": 10}, "7", (True, 7)),
        ({"type": "number", "min": 1, "max": 10}, "2,5", (True, 2.5)),
        ({"type": "number", "min": 1, "max": 10}, "11", (False, None)),
        ({"type": "number"}, "nan", (False, None)),
        ({"type": "regex", "pattern": r"(?i)DIY-?\d{6}"}, " diy-123456 ", (True, "diy-123456")),
        ({"type": "regex", "pattern": r"(?i)DIY-?\d{6}"}, "DIY-12", (False, None)),
        ({"type": "text", "min_length": 3}, "ok", (False, None)),
        (None, "anything", (True, "anything")),
    ],
)
def test_validators(validator, body, expected):
    assert validate_input(validator, body) == expected


def test_regex_input_shows_a_text_hint_with_placeholder():
    chat = Chat(make_flow(input_graph({"type": "regex", "pattern": r"\d+", "hint": "123"})))
    assert chat.last_bot().data["input"] == {"type": "text", "placeholder": "123"}


# --- intent ----------------------------------------------------------------------------------
INTENT_GRAPH = graph(
    {
        "hello": {
            "type": "intent",
            "text": "What is it about?",
            "threshold": 0.35,
            "clarify_text": {"en": "Which one?"},
            "intents": [
                {
                    "id": "late",
                    "label": "Late delivery",
                    "examples": {
                        "en": ["my parcel is late", "where is my delivery", "not delivered yet"],
                        "fr": ["mon colis est en retard", "où est ma livraison"],
                    },
                    "next": "to_orders",
                },
                {
                    "id": "refund",
                    "label": "A refund",
                    "examples": {"en": ["I want a refund", "give me my money back"]},
                    "next": "to_returns",
                },
            ],
            "fallback": "to_general",
        },
        "to_orders": handoff(queue="Orders"),
        "to_returns": handoff(queue="Returns"),
        "to_general": handoff(queue="General"),
    }
)


@pytest.fixture
def queues():
    for name in ("Orders", "Returns", "General"):
        Queue.objects.get_or_create(name=name)


def test_a_confident_intent_follows_its_edge(queues):
    chat = Chat(make_flow(INTENT_GRAPH))
    chat.send("my parcel is very late")
    assert chat.conversation.queue.name == "Orders"
    assert chat.session.intent == "late"
    assert chat.session.attributes["intent"] == "late"
    assert chat.session.attributes["intent_text"] == "my parcel is very late"
    decision = events(chat.conversation, "bot.intent")[0]
    assert decision.data["intent"] == "late" and decision.data["confidence"] >= 0.35


def test_a_low_confidence_asks_a_clarifying_question_and_a_click_settles_it(queues):
    chat = Chat(make_flow(INTENT_GRAPH))
    replies = chat.send("hmm, the thing")
    assert [m.body for m in replies] == ["Which one?"]
    assert replies[0].data["buttons"] == [
        {"id": "late", "label": "Late delivery"},
        {"id": "refund", "label": "A refund"},
        # The built-in text in its own languages: the flow has two (its hand-off's).
        {"id": "parley:person", "label": "Talk to someone", "labels": BUTTON_LABEL},
    ]
    assert chat.session.awaiting == "clarify"
    chat.click("refund")
    assert chat.conversation.queue.name == "Returns"
    assert events(chat.conversation, "bot.intent")[-1].data["source"] == "button"


def test_low_confidence_twice_takes_the_fallback_edge(queues):
    chat = Chat(make_flow(INTENT_GRAPH))
    chat.send("hmm, the thing")
    chat.send("just a question really")
    assert chat.conversation.queue.name == "General"
    assert chat.session.attributes["intent"] is None
    assert chat.session.attributes["intent_text"] == "hmm, the thing"


def test_a_clarified_free_text_answer_can_still_match(queues):
    chat = Chat(make_flow(INTENT_GRAPH))
    chat.send("hmm, the thing")
    chat.send("I want a refund please")
    assert chat.conversation.queue.name == "Returns"


# --- condition, action -----------------------------------------------------------------------
def condition_graph(rule: dict) -> dict:
    return graph(
        {
            "hello": {
                "type": "input",
                "attribute": "n",
                "text": "n?",
                "validator": {"type": "number"},
                "next": "check",
            },
            "check": {"type": "condition", "rules": [{"if": rule, "next": "yes"}], "else": "no"},
            "yes": {"type": "end", "text": "yes"},
            "no": {"type": "end", "text": "no"},
        }
    )


@pytest.mark.parametrize(
    ("rule", "answer", "expected"),
    [
        ({"attribute": "n", "op": "gt", "value": 5}, "7", "yes"),
        ({"attribute": "n", "op": "gt", "value": 5}, "3", "no"),
        ({"attribute": "n", "op": "lte", "value": 3}, "3", "yes"),
        ({"attribute": "n", "op": "eq", "value": 4}, "4", "yes"),
        ({"attribute": "n", "op": "ne", "value": 4}, "4", "no"),
        ({"attribute": "n", "op": "in", "value": [1, 2]}, "2", "yes"),
        ({"attribute": "n", "op": "not_in", "value": [1, 2]}, "2", "no"),
        ({"attribute": "n", "op": "exists"}, "1", "yes"),
        ({"attribute": "other", "op": "exists"}, "1", "no"),
        ({"attribute": "other", "op": "not_exists"}, "1", "yes"),
        ({"attribute": "language", "op": "eq", "value": "en"}, "1", "yes"),
    ],
)
def test_condition_rules(rule, answer, expected):
    chat = Chat(make_flow(condition_graph(rule)))
    replies = chat.send(answer)
    assert replies[0].body == expected
    assert chat.conversation.status == "resolved"


def test_condition_on_text_attributes():
    g = graph(
        {
            "hello": {"type": "input", "attribute": "t", "text": "?", "next": "check"},
            "check": {
                "type": "condition",
                "rules": [
                    {"if": {"attribute": "t", "op": "contains", "value": "drill"}, "next": "a"},
                    {"if": {"attribute": "t", "op": "matches", "value": r"^\d+$"}, "next": "b"},
                ],
                "else": "c",
            },
            "a": {"type": "end", "text": "a"},
            "b": {"type": "end", "text": "b"},
            "c": {"type": "end", "text": "c"},
        }
    )
    flow = make_flow(g)
    assert Chat(flow).send("My DRILL broke")[0].body == "a"
    assert Chat(flow).send("12345")[0].body == "b"
    assert Chat(flow).send("other")[0].body == "c"


def test_action_sets_attributes_tags_and_priority_and_handoff_carries_them():
    Queue.objects.get_or_create(name="VIP")
    g = graph(
        {
            "hello": {
                "type": "action",
                "set": {"segment": "vip", "score": 3},
                "tags": ["vip", "urgent"],
                "priority": 4,
                "next": "greet",
            },
            "greet": msg("Hello VIP", "ask"),
            "ask": {
                "type": "input",
                "attribute": "email",
                "text": "Email?",
                "validator": {"type": "email"},
                "next": "out",
            },
            "out": handoff(queue="VIP", skills=["vip"], priority=2),
        }
    )
    chat = Chat(make_flow(g))
    assert chat.refresh().priority == 4
    assert chat.session.tags == ["vip", "urgent"]
    replies = chat.send("vip@example.com")
    conversation = chat.refresh()
    # The handoff's priority never lowers what an action raised.
    assert (conversation.status, conversation.queue.name, conversation.priority) == (
        "queued",
        "VIP",
        4,
    )
    assert all(m.kind != "event" for m in replies)  # the customer sees no summary
    summary = Note.objects.get(conversation=conversation)
    assert (summary.kind, summary.author_name) == ("handoff", "Parley bot")
    assert summary.data["collected"] == {"segment": "vip", "score": 3, "email": "vip@example.com"}
    assert summary.data["tags"] == ["vip", "urgent"]
    assert summary.data["queue"] == "VIP" and summary.data["skills"] == ["vip"]
    assert "email: vip@example.com" in summary.body


# --- handoff into routing, lead capture ------------------------------------------------------
def test_handoff_enters_routing_with_queue_priority_and_skills():
    from routing.models import QueueEntry

    queue, _ = Queue.objects.get_or_create(name="Technical")
    g = graph({"hello": msg("hi", "out"), "out": handoff(queue="Technical", priority=3,
                                                         skills=["Plumbing", "fr"])})  # fmt: skip
    chat = Chat(make_flow(g))
    conversation = chat.refresh()
    assert (conversation.status, conversation.queue_id, conversation.priority) == (
        "queued",
        queue.pk,
        3,
    )
    entry = QueueEntry.objects.get(conversation=conversation)
    assert entry.queue_id == queue.pk and entry.priority == 3
    assert {"plumbing", "fr"} <= set(entry.skills)
    transition = conversation.events.get(type="status_changed", to_status="queued")
    assert transition.from_status == "bot" and "handoff at out" in transition.reason


@pytest.mark.parametrize("gone", ["deleted", "deactivated"])
def test_a_published_handoff_whose_queue_is_gone_falls_back_to_the_site_default_queue(gone, caplog):
    # Saving refuses a missing queue (test_handoff_queues.py), but a published version
    # outlives its queues: it still hands off, to the site's default, with a warning.
    g = graph({"hello": msg("hi", "out"), "out": handoff(queue="Nowhere")})
    flow = make_flow(g)  # creates Nowhere
    nowhere = Queue.objects.get(name="Nowhere")
    if gone == "deleted":
        nowhere.delete()
    else:
        Queue.objects.filter(pk=nowhere.pk).update(is_active=False)
    chat = Chat(flow)
    assert chat.refresh().status == "queued"
    assert chat.conversation.queue == chat.site.default_queue
    assert "names a missing or inactive queue 'Nowhere'" in caplog.text


def test_lead_capture_updates_the_customer_and_records_one_event():
    g = graph(
        {
            "hello": {
                "type": "input",
                "attribute": "name",
                "text": "Name?",
                "next": "email",
            },
            "email": {
                "type": "input",
                "attribute": "email",
                "text": "Email?",
                "validator": {"type": "email"},
                "next": "phone",
            },
            "phone": {
                "type": "input",
                "attribute": "phone",
                "text": "Phone?",
                "validator": {"type": "phone"},
                "next": "out",
            },
            "out": handoff(),
        }
    )
    chat = Chat(make_flow(g), name="")
    chat.send("Ana Lopez")
    assert chat.customer.name == "Ana Lopez"
    assert not events(chat.conversation, "lead.captured")
    chat.send("ana@example.com")
    assert chat.customer.email == "ana@example.com"
    chat.send("+34 600 000 000")
    assert chat.customer.attributes == {"phone": "+34600000000"}
    (lead,) = events(chat.conversation, "lead.captured")
    assert lead.data["contact"] == {"email": "ana@example.com"}
    assert lead.data["customer"] == chat.customer.pk
    assert chat.session.lead_captured_at is not None


def test_a_verified_customers_email_is_not_overwritten():
    g = graph(
        {
            "hello": {
                "type": "input",
                "attribute": "email",
                "text": "Email?",
                # The known address does not pass this question's check: it is asked.
                "validator": {"type": "regex", "pattern": ".+@example\\.com"},
                "next": "out",
            },
            "out": handoff(),
        }
    )
    chat = Chat(make_flow(g), email="known@shop.example", identity_verified=True)
    chat.send("typed@example.com")
    assert chat.customer.email == "known@shop.example"
    assert chat.customer.attributes["email"] == "typed@example.com"


def test_a_question_whose_answer_is_known_is_not_asked_again():
    """The pre-chat form's email (on the customer), or an answer of this session: the bot
    goes on with it instead of asking a third time; a known value its check refuses is
    asked for."""
    g = graph(
        {
            "hello": {"type": "input", "attribute": "email", "text": "Email?",
                      "validator": {"type": "email"}, "next": "order"},
            "order": {"type": "input", "attribute": "order", "text": "Order number?",
                      "next": "out"},
            "out": handoff(),
        }
    )  # fmt: skip
    chat = Chat(make_flow(g), email="zoe@example.com")
    bodies = [m.body for m in chat.bot_messages()]
    assert "Email?" not in bodies and bodies[-1] == "Order number?"
    chat.send("DIY-1")
    assert chat.conversation.status == "queued"

    stranger = Chat(make_flow(g), email="not an address")
    assert [m.body for m in stranger.bot_messages()][-1] == "Email?"


# --- end and CSAT ----------------------------------------------------------------------------
def end_graph(**kw) -> dict:
    return graph(
        {
            "hello": {
                "type": "choice",
                "text": "Done?",
                "buttons": [{"id": "y", "label": "Yes", "next": "bye"}],
            },
            "bye": {"type": "end", "text": {"en": "Bye!", "it": "Ciao!"}, **kw},
        }
    )


def test_end_without_csat_resolves_the_conversation():
    chat = Chat(make_flow(end_graph(), goal=Flow.Goal.RESOLVED))
    replies = chat.click("y")
    assert [m.body for m in replies] == ["Bye!", "Conversation resolved by the bot."]
    conversation = chat.refresh()
    assert conversation.status == "resolved" and conversation.resolved_at is not None
    assert chat.session.state == "ended"
    assert chat.session.goal_reached_at is not None  # goal: resolved without an agent


def test_end_with_csat_asks_for_a_rating_then_resolves():
    chat = Chat(make_flow(end_graph(csat=True, thanks_text="Thanks for rating!")), language="it")
    replies = chat.click("y")
    assert replies[0].body == "Ciao!"
    assert replies[1].data["csat"] is True
    assert [b["id"] for b in replies[1].data["buttons"]] == ["1", "2", "3", "4", "5"]
    assert chat.conversation.status == "bot"
    replies = chat.send("meh")  # not a rating: asked once more
    assert replies[0].data["csat"] is True
    chat.click("4")
    assert chat.conversation.status == "resolved"
    (event,) = events(chat.conversation, "csat.submitted")
    assert event.data["score"] == 4
    assert chat.session.attributes["csat"] == 4


def test_csat_typed_rating_and_giving_up_without_one():
    chat = Chat(make_flow(end_graph(csat=True)))
    chat.click("y")
    chat.send("5/5")
    assert events(chat.conversation, "csat.submitted")[0].data["score"] == 5
    other = Chat(make_flow(end_graph(csat=True)))
    other.click("y")
    other.send("no")
    other.send("still no")
    assert other.conversation.status == "resolved"
    assert not events(other.conversation, "csat.submitted")


# --- versions, restarts, no flow -------------------------------------------------------------
def test_running_conversations_keep_their_version():
    flow = make_flow(CHOICE_GRAPH)
    old = Chat(flow)
    edited = {
        **CHOICE_GRAPH,
        "nodes": {**CHOICE_GRAPH["nodes"], "a": {"type": "end", "text": "Version two ends here."}},
    }
    flow_draft_save(flow=flow, graph=edited)
    # The draft alone changes nothing for new conversations either.
    assert Chat(flow).session.version.number == 1
    flow_publish(flow=flow)
    old.click("order")
    assert old.conversation.status == "queued"  # v1's handoff
    new = Chat(flow)
    assert new.session.version.number == 2
    assert new.click("order")[0].body == "Version two ends here."


def test_state_survives_a_restart():
    Queue.objects.get_or_create(name="Orders")
    chat = Chat(make_flow(INTENT_GRAPH | {"start": "hello"}))
    # A restarted process has empty caches: everything comes back from the database.
    engine_base._graphs.clear()
    intent_cache.clear()
    chat.send("where is my delivery??")
    assert chat.conversation.queue.name == "Orders"


def test_without_a_flow_the_conversation_is_handed_to_routing_at_once():
    chat = Chat(None)
    assert chat.conversation.status == "queued"
    assert not BotSession.objects.filter(conversation=chat.conversation).exists()
    unpublished = make_flow(CHOICE_GRAPH, publish=False)
    assert Chat(unpublished).conversation.status == "queued"


def test_a_bot_conversation_without_a_session_is_handed_off_on_the_next_message():
    chat = Chat(make_flow(CHOICE_GRAPH))
    BotSession.objects.filter(conversation=chat.conversation).delete()
    chat.send("hello?")
    assert chat.conversation.status == "queued"


def test_messages_after_handoff_do_not_reach_the_bot():
    chat = Chat(make_flow(graph({"hello": msg("hi", "out"), "out": handoff()})))
    count = Message.objects.filter(conversation=chat.conversation).count()
    chat.send("hello?")
    assert Message.objects.filter(conversation=chat.conversation).count() == count + 1


def test_typing_is_announced_only_when_configured(published, on_commit):
    fast_flow = make_flow(CHOICE_GRAPH)
    slow_flow = make_flow({**CHOICE_GRAPH, "typing_ms": 800})
    seen = {}
    for name, flow in (("fast", fast_flow), ("slow", slow_flow)):
        with on_commit(execute=True):
            chat = Chat(flow)
            published.listen(f"cust.{chat.customer.pk}")
        seen[name] = (chat, published.frames(f"cust.{chat.customer.pk}"))
    fast, fast_frames = seen["fast"]
    slow, slow_frames = seen["slow"]
    assert "typing_ms" not in fast.last_bot().data
    assert not [f for f in fast_frames if f["type"] == "typing"]
    assert slow.last_bot().data["typing_ms"] == 800
    types = [f["type"] for f in slow_frames]
    # Each bot message is announced by the bot typing just before it.
    assert types[:4] == ["typing", "message.new", "typing", "message.new"]
    assert slow_frames[0]["role"] == "bot" and slow_frames[0]["state"] == "start"


def test_conversation_updated_is_published_when_the_bot_hands_off(published, on_commit):
    g = graph({"hello": {"type": "input", "attribute": "q", "text": "?", "next": "out"},
               "out": handoff()})  # fmt: skip
    chat = Chat(make_flow(g))
    group = f"cust.{chat.customer.pk}"
    published.listen(group)
    with on_commit(execute=True):
        chat.send("help")
    types = published.types(group)
    assert types.count("message.new") == 2  # the customer's, the bot's (no summary)
    assert "note.new" not in types
    assert types[-1] == "conversation.updated"


def test_bot_messages_are_published_as_message_new(published, on_commit):
    chat = Chat(make_flow(CHOICE_GRAPH))
    group = f"cust.{chat.customer.pk}"
    published.listen(group)
    with on_commit(execute=True):
        chat.send("?")
    frames = published.frames(group)
    bot = [f["message"] for f in frames if f["type"] == "message.new"][-1]
    assert bot["kind"] == "bot" and bot["sender"]["role"] == "bot"
    assert bot["data"]["buttons"][0] == {
        "id": "order",
        "label": "An order",
        "labels": {"en": "An order", "de": "An order", "fr": "Une commande"},
    }


def test_the_engine_ignores_conversations_that_left_the_bot():
    chat = Chat(None)
    chat.send("hello")
    message = Message.objects.filter(conversation=chat.conversation).first()
    assert engine.bot_session_advance(conversation=chat.conversation, message=message) is None
    assert Conversation.objects.get(pk=chat.conversation.pk).status == "queued"


def test_rest_message_send_passes_the_choice_through():
    from rest_framework.test import APIClient

    chat = Chat(make_flow(CHOICE_GRAPH))
    token = services.visitor_token_issue(customer=chat.customer)
    client = APIClient(HTTP_AUTHORIZATION=f"Visitor {token}")
    url = f"/api/v1/conversations/{chat.conversation.pk}/messages/"
    bad = client.post(url, {"body": "x", "client_msg_id": "r1", "choice": "y" * 65}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "choice"
    ok = client.post(url, {"body": "A product", "client_msg_id": "r2", "choice": "product"},
                     format="json")  # fmt: skip
    assert ok.status_code == 201
    assert ok.json()["message"]["data"] == {"choice": "product"}
    assert chat.session.attributes["topic"] == "product"
