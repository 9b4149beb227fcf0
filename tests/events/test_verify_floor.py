"""verify_action for the floor dashboard's frames: a followed conversation's messages reach
its watch group, and floor.snapshot (a direct frame of the floor socket) follows the real
arrival of a conversation, checked against its declaration."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from actions import conversations as conversation_actions
from chat import events
from chat.recipients import AGENTS_GROUP, customer_group, watch_group
from tests.events.test_verify_action import verify_action
from tests.factories import customer_actor, make_customer, make_site
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
