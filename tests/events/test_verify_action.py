"""Each event type, from the real action that causes it to the frame every recipient gets
(Zulip's verify_action): the action runs through the same services the sockets and the
API call, the frames are read from the channel layer per principal group, and every frame
is checked against its declaration in chat.events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions import agents as agent_actions
from actions import conversations as conversation_actions
from chat import events, realtime, services
from chat.realtime import AGENTS_GROUP, customer_group, user_group
from routing.models import Reservation
from routing.services import reservation_accept
from tests.factories import agent_actor, customer_actor, make_customer, make_site
from tests.routing.conftest import make_queue, online_agent, open_offer

pytestmark = pytest.mark.django_db(transaction=True)


def verify_action(
    published, action: Callable[[], Any], expected: dict[str, list[str]]
) -> dict[str, list[dict]]:
    """Run ``action``; every listened group must get exactly the frame types listed for it
    (in order), each a declared frame with its declared fields."""
    for group in expected:
        if group not in published.channels:
            published.listen(group)
        published.frames(group)  # drop what came before
    action()
    got = {group: published.frames(group) for group in expected}
    for frames in got.values():
        for frame in frames:
            events.check(frame)
    assert {g: [f["type"] for f in frames] for g, frames in got.items()} == expected
    return got


def _floor(published):
    queue = make_queue()
    agent = online_agent(queue)
    customer = make_customer(site=make_site(default_queue=queue))
    published.listen(customer_group(customer.pk), user_group(agent.pk), AGENTS_GROUP)
    return queue, agent, customer


def test_start_offers_to_the_agent_and_every_snapshot_has_a_newer_rev(published):
    _, agent, customer = _floor(published)
    got = verify_action(
        published,
        lambda: conversation_actions.conversation_start(actor=customer_actor(customer)),
        {
            # "queued" was built first but committed after the router's "offered": the
            # older snapshot is not sent after the newer one.
            customer_group(customer.pk): ["conversation.updated"],
            user_group(agent.pk): ["reservation.offered"],
            AGENTS_GROUP: ["conversation.updated"],
        },
    )
    (snapshot,) = got[customer_group(customer.pk)]
    assert snapshot["conversation"]["status"] == "offered"
    assert snapshot["conversation"]["rev"] >= 1
    offered = got[user_group(agent.pk)][0]["reservation"]
    assert offered["conversation"]["status"] == "offered"


def test_accept_send_receipt_resolve(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    offer = open_offer(conversation)
    cust, mine = customer_group(customer.pk), user_group(agent.pk)

    got = verify_action(
        published,
        lambda: reservation_accept(actor=agent_actor(agent), reservation_id=offer.pk),
        {cust: ["message.new", "conversation.updated"],
         mine: ["message.new", "reservation.accepted", "conversation.updated"]},
    )  # fmt: skip
    accepted_rev = got[cust][-1]["conversation"]["rev"]
    assert got[cust][-1]["conversation"]["status"] == "assigned"

    got = verify_action(
        published,
        lambda: conversation_actions.message_send(
            actor=customer_actor(customer),
            conversation_id=conversation.pk,
            body="Where is my order?",
            client_msg_id="m1",
        ),
        {cust: ["message.new"], mine: ["message.new"]},
    )
    # Each side gets its own view: the sender's and the recipient's.
    assert got[cust][0]["message"]["view"]["as"] == "sender"
    assert got[mine][0]["message"]["view"]["as"] == "recipient"
    seq = got[mine][0]["message"]["seq"]

    got = verify_action(
        published,
        lambda: services.receipt_update(
            actor=agent_actor(agent), conversation_id=conversation.pk, read_seq=seq
        ),
        {cust: ["receipt.updated"], mine: ["receipt.updated"]},
    )
    assert got[cust][0]["read_seq"] == seq and got[cust][0]["role"] == "agent"

    got = verify_action(
        published,
        lambda: conversation_actions.conversation_resolve(
            actor=agent_actor(agent), conversation_id=conversation.pk
        ),
        {cust: ["message.new", "conversation.updated"],
         mine: ["message.new", "conversation.updated"]},
    )  # fmt: skip
    resolved = got[cust][-1]["conversation"]
    assert resolved["status"] == "resolved" and resolved["rev"] > accepted_rev


def test_presence_set_tells_the_agents_consoles_and_hands_offers_on(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    offer = open_offer(conversation)
    got = verify_action(
        published,
        lambda: agent_actions.agent_presence_set(actor=agent_actor(agent), status="away"),
        {user_group(agent.pk): ["agent.presence", "reservation.revoked"]},
    )
    assert got[user_group(agent.pk)][0]["presence"]["status"] == "away"
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"


def test_typing_is_relayed_to_the_participants_only(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    target = services.typing_target(actor=customer_actor(customer), conversation_id=conversation.pk)
    frame = services.typing_frame(conversation_id=conversation.pk, target=target, state="start")
    got = verify_action(
        published,
        lambda: realtime.publish_ephemeral(target["groups"], frame),
        {customer_group(customer.pk): ["typing"], user_group(agent.pk): ["typing"],
         AGENTS_GROUP: []},
    )  # fmt: skip
    assert got[user_group(agent.pk)][0]["role"] == "customer"
