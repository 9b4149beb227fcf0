"""A customer clicks through the demo flow over the real socket (WebsocketCommunicator on
config.asgi.application, Redis channel layer) and reaches routing; an agent's console sees
the handoff, the transcript and the collected answers."""

from __future__ import annotations

import itertools

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from bots.demo import demo_flow_install
from chat import services
from chat.models import Customer
from config.asgi import application
from tests.factories import make_agent, make_customer, make_site, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 5
_ids = itertools.count(1)


async def recv(comm, *types: str) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=TIMEOUT)
        if frame["type"] in types:
            return frame


async def bot_reply(comm, *, until_input: bool = True) -> list[dict]:
    """message.new frames from the bot and the system, up to the next question (a bot
    message with buttons or an input hint, or an intent question), or up to the handoff."""
    out = []
    while True:
        frame = await recv(comm, "message.new", "conversation.updated")
        if frame["type"] == "conversation.updated":
            if frame["conversation"]["status"] != "bot":
                out.append(frame)
                return out
            continue
        message = frame["message"]
        if message["sender"]["role"] == "customer":
            continue
        out.append(message)
        data = message["data"]
        if until_input and (data.get("buttons") or data.get("input") or data["node"] == "describe"):
            return out


async def send(comm, conversation_id: int, body: str, choice: str | None = None) -> dict:
    frame = {
        "type": "message.send",
        "id": f"m{next(_ids)}",
        "conversation": conversation_id,
        "body": body,
        "client_msg_id": f"cid-{next(_ids)}",
    }
    if choice is not None:
        frame["choice"] = choice
    await comm.send_json_to(frame)
    return await recv(comm, "message.accepted", "error")


@database_sync_to_async
def demo_customer(language: str = "en"):
    flow = demo_flow_install()
    site = make_site(default_flow=flow)
    customer = make_customer(site=site, name="", locale=language)
    return customer, services.visitor_token_issue(customer=customer)


async def open_widget(token: str):
    comm = WebsocketCommunicator(application, f"/ws/widget/?token={token}")
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    await recv(comm, "hello")
    return comm


async def open_console(user):
    sid = await database_sync_to_async(session_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    await recv(comm, "hello")
    return comm


async def test_a_customer_clicks_through_the_demo_flow_to_an_agent():
    customer, token = await demo_customer("en")
    agent = await database_sync_to_async(make_agent)()
    console = await open_console(agent)
    widget = await open_widget(token)

    await widget.send_json_to({"type": "conversation.start", "id": "s", "language": "en"})
    started = await recv(widget, "conversation.started")
    conversation_id = started["conversation"]["id"]
    greeting, topic = await bot_reply(widget)
    assert greeting["kind"] == "bot" and greeting["data"]["node"] == "greet"
    assert topic["body"] == "Is your question about an order or a product?"
    assert [b["id"] for b in topic["data"]["buttons"]] == ["order", "product", "other"]

    accepted = await send(widget, conversation_id, "An order", choice="order")
    assert accepted["type"] == "message.accepted"
    (ask_order,) = await bot_reply(widget)
    assert ask_order["data"]["input"] == {"type": "text", "placeholder": "DIY-1234567"}

    await send(widget, conversation_id, "DIY-1234567")
    (ask_email,) = await bot_reply(widget)
    assert ask_email["data"]["input"] == {"type": "email"}

    await send(widget, conversation_id, "zoe at example dot com")
    (again,) = await bot_reply(widget)
    assert again["body"].startswith("That email address doesn't look right")

    await send(widget, conversation_id, "zoe@example.com")
    (describe,) = await bot_reply(widget)
    assert describe["data"]["node"] == "describe"

    await send(widget, conversation_id, "my parcel is late, it has not arrived")
    handed = await bot_reply(widget, until_input=False)
    bot_text, updated = handed  # the hand-off summary is an agents' note, not a message
    # Nobody serves Orders (the console's agent is not in that queue): the bot says so
    # rather than promise an agent the queue banner would say is not there.
    assert bot_text["body"].startswith("Thanks! Nobody from our team can join right now")
    conversation = updated["conversation"]
    assert conversation["status"] == "queued"
    assert conversation["queue"]["name"] == "Orders"
    assert conversation["priority"] == 5  # the late-delivery action

    # The console hears of the waiting conversation, gets the bot's note, and reads the
    # bot transcript.
    note = (await recv(console, "note.new"))["note"]
    assert note["conversation"] == conversation_id and note["kind"] == "handoff"
    assert note["body"].startswith("The bot handed this conversation to Orders.")
    assert note["data"]["collected"] == {
        "topic": "order",
        "order_number": "DIY-1234567",
        "email": "zoe@example.com",
        "intent": "delivery_delay",
        "intent_text": "my parcel is late, it has not arrived",
    }
    assert note["data"]["intent"] == "delivery_delay"
    assert note["data"]["queue"] == "Orders" and note["data"]["skills"] == ["orders"]
    await console.send_json_to(
        {"type": "resume", "id": "r", "conversation": conversation_id, "after_seq": 0}
    )
    batch = await recv(console, "messages.batch")
    kinds = [m["kind"] for m in batch["messages"]]
    assert kinds.count("bot") >= 6 and kinds.count("text") == 5
    assert all("handed" not in m["body"] for m in batch["messages"])
    await console.send_json_to({"type": "notes.fetch", "id": "n", "conversation": conversation_id})
    notes = await recv(console, "notes.batch")
    assert [n["id"] for n in notes["notes"]] == [note["id"]]

    # The customer's own transcript has no trace of it.
    await widget.send_json_to(
        {"type": "resume", "id": "r", "conversation": conversation_id, "after_seq": 0}
    )
    mine = await recv(widget, "messages.batch")
    assert all("handed" not in m["body"] for m in mine["messages"])

    stored = await database_sync_to_async(Customer.objects.get)(pk=customer.pk)
    assert stored.email == "zoe@example.com"
    assert stored.attributes["order_number"] == "DIY-1234567"
    await widget.disconnect()
    await console.disconnect()


async def test_a_bad_choice_gets_an_error_frame_and_the_socket_lives():
    _customer, token = await demo_customer("fr")
    widget = await open_widget(token)
    await widget.send_json_to({"type": "conversation.start", "id": "s"})
    conversation_id = (await recv(widget, "conversation.started"))["conversation"]["id"]
    _greeting, topic = await bot_reply(widget)
    assert topic["body"] == "Votre question concerne-t-elle une commande ou un produit ?"
    error = await send(widget, conversation_id, "Une commande", choice=42)
    assert error["type"] == "error"
    assert (error["code"], error["field"]) == ("invalid_field", "choice")
    accepted = await send(widget, conversation_id, "Une commande", choice="order")
    assert accepted["type"] == "message.accepted"
    (ask_order,) = await bot_reply(widget)
    assert ask_order["body"].startswith("Quel est votre numéro de commande")
    await widget.disconnect()


async def test_a_first_message_carried_by_the_start_answers_the_bot_s_greeting():
    """With a bot, conversation.start's first message comes after the greeting it could not
    have read, and the bot takes it as the answer to its first question (as if sent after)."""
    _, token = await demo_customer("en")
    widget = await open_widget(token)
    first = {"id": "m:c-1", "client_msg_id": "c-1", "body": "An order", "choice": "order"}
    await widget.send_json_to(
        {"type": "conversation.start", "id": "s", "language": "en", "message": first}
    )
    started = await recv(widget, "conversation.started")
    accepted = await recv(widget, "message.accepted")
    assert accepted["ref"] == "m:c-1" and accepted["conversation"] == started["conversation"]["id"]
    greeting, topic = await bot_reply(widget)
    assert greeting["data"]["node"] == "greet" and topic["seq"] < accepted["seq"]
    (ask_order,) = await bot_reply(widget)
    assert ask_order["seq"] > accepted["seq"]
    assert ask_order["data"]["input"] == {"type": "text", "placeholder": "DIY-1234567"}
    await widget.disconnect()
