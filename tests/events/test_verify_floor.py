"""verify_action for the floor dashboard's frames: a followed conversation's messages reach
its watch group, and floor.snapshot (a direct frame of the floor socket) follows the real
arrival of a conversation, checked against its declaration."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from actions import conversations as conversation_actions
from chat import events
from chat.recipients import AGENTS_GROUP, customer_group, watch_group
from routing.services import conversation_assign
from tests.events.test_verify_action import verify_action
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site
from tests.routing.conftest import make_queue
from tests.supervision.test_floor_socket import _quick_floor, boss, floor_socket, snapshot

pytestmark = pytest.mark.django_db(transaction=True)
_ = _quick_floor


def test_a_followed_conversation_s_messages_reach_its_watchers(published):
    queue = make_queue()
    customer = make_customer(site=make_site(default_queue=queue))
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    got = verify_action(
        published,
        lambda: conversation_actions.message_send(
            actor=customer_actor(customer),
            conversation_id=conversation.pk,
            body="hello?",
            client_msg_id="w1",
        ),
        {
            customer_group(customer.pk): ["message.new"],
            AGENTS_GROUP: ["message.new"],
            watch_group(conversation.pk): ["message.new"],
        },
    )
    watched = got[watch_group(conversation.pk)][0]["message"]
    assert (watched["conversation"], watched["body"]) == (conversation.pk, "hello?")


async def test_floor_snapshot_follows_an_arrival():
    queue = await database_sync_to_async(make_queue)(name="Arrivals", limit_mode="none")
    comm = await floor_socket(await database_sync_to_async(boss)())
    await snapshot(comm)

    def arrive():
        customer = make_customer(site=make_site(default_queue=queue))
        conversation_actions.conversation_start(actor=customer_actor(customer))

    await database_sync_to_async(arrive)()
    frame = await snapshot(
        comm, lambda s: any(q["name"] == "Arrivals" and q["waiting"] for q in s["queues"])
    )
    assert events.check(frame).name == "floor.snapshot"
    assert set(frame) - {"type"} == events.FLOOR_SNAPSHOT.fields
    await comm.disconnect()


async def test_floor_snapshot_follows_a_take():
    """A take leaves the waiting room: the floor hears it and moves the chat to `active`."""
    queue = await database_sync_to_async(make_queue)(name="Takes", limit_mode="none")
    comm = await floor_socket(await database_sync_to_async(boss)())

    def arrive():
        customer = make_customer(site=make_site(default_queue=queue))
        return conversation_actions.conversation_start(actor=customer_actor(customer))[0]

    conversation = await database_sync_to_async(arrive)()
    await snapshot(comm, lambda s: any(w["conversation"] == conversation.pk for w in s["waiting"]))
    agent = await database_sync_to_async(make_agent)("tess")
    await database_sync_to_async(conversation_assign)(
        actor=agent_actor(agent), conversation_id=conversation.pk
    )
    frame = await snapshot(
        comm, lambda s: [a["conversation"] for a in s["active"]] == [conversation.pk]
    )
    assert frame["active"][0]["agent_name"] == "Tess"
    assert frame["waiting"] == []
    await comm.disconnect()
