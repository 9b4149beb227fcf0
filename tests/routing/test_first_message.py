"""conversation.start carrying the customer's first message (docs/protocol.md): stored in
the start's transaction, so with no bot an agent is never offered a conversation whose
first message is still on its way; answered to the message's own id like a message.send."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.models import BlockedMessage, Conversation, Message, ModerationPolicy
from tests.chat.test_consumers import recv, widget
from tests.factories import make_site
from tests.routing.test_consumers import agent_for, console, customer_of, shop

pytestmark = pytest.mark.django_db(transaction=True)


def start_frame(body: str, cid: str = "c-1", **extra) -> dict:
    return {
        "type": "conversation.start",
        "id": "s1",
        "message": {"id": "m:" + cid, "client_msg_id": cid, "body": body, **extra},
    }


@database_sync_to_async
def stored(conversation_id: int) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("seq", "sender__role", "body")
    )


async def test_the_first_message_is_stored_before_any_agent_is_offered_the_conversation():
    site, queue = await shop(limit_mode="none")
    agent = await agent_for(queue)
    cons, _, _ = await console(agent)
    cust, _ = await widget(await customer_of(site))

    await cust.send_json_to(start_frame("Where is my order 1234?"))
    started = await recv(cust, "conversation.started")
    conversation = started["conversation"]
    assert started["ref"] == "s1" and started["created"] is True
    accepted = await recv(cust, "message.accepted", "error")
    assert accepted["type"] == "message.accepted", accepted
    assert accepted["ref"] == "m:c-1" and accepted["client_msg_id"] == "c-1"
    assert accepted["conversation"] == conversation["id"]
    assert accepted["seq"] == 1 and accepted["duplicate"] is False

    offered = await recv(cons, "reservation.offered")
    assert offered["reservation"]["conversation"]["id"] == conversation["id"]
    # One transaction: by the time the offer exists, so does the message it is about.
    assert await stored(conversation["id"]) == [(1, "customer", "Where is my order 1234?")]
    await cust.disconnect()
    await cons.disconnect()


async def test_a_repeated_start_with_the_same_message_stores_it_once():
    site, _ = await shop(limit_mode="none")
    cust, _ = await widget(await customer_of(site))
    answers = []
    for _ in range(2):  # a retry after a lost answer, or a second tab with the shared outbox
        await cust.send_json_to(start_frame("hello"))
        started = await recv(cust, "conversation.started")
        answers.append((started["created"], await recv(cust, "message.accepted", "error")))
    (created1, first), (created2, again) = answers
    assert (created1, created2) == (True, False)
    assert first["message_id"] == again["message_id"] and again["duplicate"] is True
    assert await stored(first["conversation"]) == [(1, "customer", "hello")]
    await cust.disconnect()


async def test_a_refused_first_message_leaves_the_conversation_started():
    site = await database_sync_to_async(make_site)(moderation_policy=ModerationPolicy.BLOCK)
    cust, _ = await widget(await customer_of(site))
    await cust.send_json_to(start_frame("Va te faire foutre, connard"))
    started = await recv(cust, "conversation.started")
    error = await recv(cust, "message.accepted", "error")
    assert error["type"] == "error" and error["code"] == "message_blocked"
    assert error["ref"] == "m:c-1" and error["field"] == "body"
    conversation_id = started["conversation"]["id"]
    assert await stored(conversation_id) == []
    blocked = await database_sync_to_async(
        lambda: list(BlockedMessage.objects.values_list("conversation_id", "attempts"))
    )()
    assert blocked == [(conversation_id, 1)]  # recorded once, with the start that committed
    await cust.disconnect()


@pytest.mark.parametrize(
    "message, field",
    [
        ("hello", "message"),
        (None, "message"),
        (["hello"], "message"),
        ({"client_msg_id": "c-1", "body": "hello"}, "message.id"),
        ({"id": True, "client_msg_id": "c-1", "body": "hello"}, "message.id"),
        ({"id": {"x": 1}, "client_msg_id": "c-1", "body": "hello"}, "message.id"),
    ],
)
async def test_a_malformed_first_message_refuses_the_start_and_keeps_the_socket(message, field):
    site, _ = await shop(limit_mode="none")
    customer = await customer_of(site)
    cust, _ = await widget(customer)
    await cust.send_json_to({"type": "conversation.start", "id": "s1", "message": message})
    error = await recv(cust, "conversation.started", "error")
    assert error["type"] == "error", error
    assert (error["code"], error["field"], error["ref"]) == ("invalid_field", field, "s1")
    assert not await database_sync_to_async(Conversation.objects.filter(customer=customer).exists)()
    # The socket stays: a plain start still works.
    await cust.send_json_to({"type": "conversation.start", "id": "s2"})
    assert (await recv(cust, "conversation.started"))["ref"] == "s2"
    await cust.disconnect()


async def test_an_invalid_first_message_body_is_answered_like_a_message_send():
    site, _ = await shop(limit_mode="none")
    cust, _ = await widget(await customer_of(site))
    await cust.send_json_to(start_frame(12))
    await recv(cust, "conversation.started")
    error = await recv(cust, "message.accepted", "error")
    assert (error["code"], error["field"], error["ref"]) == ("invalid_field", "body", "m:c-1")
    await cust.disconnect()
