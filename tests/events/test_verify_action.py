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
from chat.recipients import AGENTS_GROUP, customer_group, user_group
from routing.models import Reservation
from routing.services import positions_publish, reservation_accept, reservation_expire
from tests.factories import agent_actor, customer_actor, make_customer, make_site
from tests.routing.conftest import later, make_queue, online_agent, open_offer

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
            customer_group(customer.pk): ["conversation.updated", "conversation.updated"],
            user_group(agent.pk): ["reservation.offered"],
            AGENTS_GROUP: ["conversation.updated", "conversation.updated"],
        },
    )
    # "queued" was built first but leaves after the router's "offered" (on-commit order):
    # its lower rev tells every client to drop it.
    for group in (customer_group(customer.pk), AGENTS_GROUP):
        snapshots = [f["conversation"] for f in got[group]]
        newest = max(snapshots, key=lambda c: c["rev"])
        assert newest["status"] == "offered"
        assert len({c["rev"] for c in snapshots}) == 2 and min(c["rev"] for c in snapshots) >= 1
    offered = got[user_group(agent.pk)][0]["reservation"]
    assert offered["conversation"]["status"] == "offered"
    assert offered["conversation"]["rev"] == newest["rev"]


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
        lambda: agent_actions.agent_presence_set(
            actor=agent_actor(agent), status="away", away_reason="lunch"
        ),
        {user_group(agent.pk): ["agent.presence", "reservation.revoked"]},
    )
    presence = got[user_group(agent.pk)][0]["presence"]
    assert (presence["status"], presence["away_reason"]) == ("away", "lunch")
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"


def test_typing_is_relayed_to_the_other_participants_only(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    target = services.typing_target(actor=customer_actor(customer), conversation_id=conversation.pk)
    frame = services.typing_frame(conversation_id=conversation.pk, target=target, state="start")
    got = verify_action(
        published,
        lambda: realtime.publish_ephemeral(target["groups"], frame),
        {customer_group(customer.pk): [], user_group(agent.pk): ["typing"],
         AGENTS_GROUP: []},
    )  # fmt: skip
    assert got[user_group(agent.pk)][0]["role"] == "customer"


def test_decline_tells_the_agent_and_the_next_agent_gets_the_offer(published):
    queue, first, customer = _floor(published)
    second = online_agent(queue)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    offer = open_offer(conversation)
    declining, other = (first, second) if offer.agent_id == first.pk else (second, first)
    published.listen(user_group(other.pk))
    got = verify_action(
        published,
        lambda: agent_actions.reservation_decline(
            actor=agent_actor(declining), reservation_id=offer.pk, reason="busy"
        ),
        {user_group(declining.pk): ["reservation.declined"],
         user_group(other.pk): ["reservation.offered"]},
    )  # fmt: skip
    ended = got[user_group(declining.pk)][0]["reservation"]
    assert ended["state"] == "declined"
    # The same reservation payload as the offer's (docs/protocol.md): no time left, no note.
    assert (ended["expires_in"], ended["note"]) == (0.0, "")
    assert set(ended) == set(got[user_group(other.pk)][0]["reservation"])
    assert got[user_group(other.pk)][0]["reservation"]["conversation"]["id"] == conversation.pk


def test_an_offer_past_its_time_expires_for_the_agent(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    offer = open_offer(conversation)
    got = verify_action(
        published,
        lambda: reservation_expire(reservation_id=offer.pk, now=later(3600)),
        {user_group(agent.pk): ["reservation.expired"]},  # one miss: no presence change
    )
    ended = got[user_group(agent.pk)][0]["reservation"]
    assert (ended["state"], ended["expires_in"], ended["note"]) == ("expired", 0.0, "")


def test_a_transfer_tells_both_agents_and_the_customer_sees_the_new_assignee(published):
    queue, _, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    holder = open_offer(conversation).agent
    reservation_accept(actor=agent_actor(holder), reservation_id=open_offer(conversation).pk)
    target = online_agent(queue)
    published.listen(user_group(target.pk), user_group(holder.pk))
    got = verify_action(
        published,
        lambda: agent_actions.conversation_transfer(
            actor=agent_actor(holder),
            conversation_id=conversation.pk,
            to_agent_id=target.pk,
            note="VIP, handle with care",
        ),
        {customer_group(customer.pk): ["message.new", "conversation.updated"],
         user_group(target.pk): ["message.new", "note.new", "conversation.updated",
                                 "conversation.transferred"],
         user_group(holder.pk): ["conversation.updated", "conversation.transferred"]},
    )  # fmt: skip
    transferred = got[user_group(target.pk)][-1]
    assert (transferred["from_agent"], transferred["to_agent"]) == (holder.pk, target.pk)
    assert transferred["note"] == "VIP, handle with care"
    # The note waits beside the transcript for the receiving agent, never the customer.
    note = got[user_group(target.pk)][1]["note"]
    assert (note["kind"], note["body"]) == ("transfer", "VIP, handle with care")
    assert got[customer_group(customer.pk)][-1]["conversation"]["assignee"]["id"] == target.pk


def test_a_waiting_customer_gets_their_place_in_line(published):
    queue = make_queue()
    customer = make_customer(site=make_site(default_queue=queue))  # nobody online: it waits
    published.listen(customer_group(customer.pk))
    conversation_actions.conversation_start(actor=customer_actor(customer))
    got = verify_action(
        published,
        lambda: positions_publish(now=later(1)),
        {customer_group(customer.pk): ["queue.position"]},
    )
    position = got[customer_group(customer.pk)][0]
    assert position["queue"]["id"] == queue.pk and position["state"] == "waiting"


def test_a_detected_language_and_a_translation_are_pushed_to_each_viewer(published, settings):
    from chat.services.pipeline import message_pipeline_process

    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "TRANSLATION_ENGINE": "fake"}
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    message, _ = conversation_actions.message_send(
        actor=customer_actor(customer),
        conversation_id=conversation.pk,
        body="Bonjour, où est ma commande ?",
        client_msg_id="fr-1",
    )
    got = verify_action(
        published,
        lambda: message_pipeline_process(message_id=message.pk),
        {customer_group(customer.pk): ["message.updated", "message.updated"],
         user_group(agent.pk): ["message.updated", "message.updated"]},
    )  # fmt: skip
    to_agent = got[user_group(agent.pk)]
    assert to_agent[0]["changed"] == ["language"] and to_agent[0]["message"]["language"] == "fr"
    assert to_agent[-1]["changed"] == ["translations"]
    assert to_agent[-1]["message"]["view"]["as"] == "recipient"
    assert got[customer_group(customer.pk)][0]["message"]["view"]["as"] == "sender"


def test_a_new_widget_locale_moves_the_conversation_and_tells_every_viewer(published):
    # The widget reloaded in French (Parley.setLocale) and its visitor session says so:
    # the conversation's language follows, and the customer and its agent see it.
    _, agent, customer = _floor(published)
    customer.locale = "en"
    customer.save(update_fields=["locale"])
    conversation, _ = conversation_actions.conversation_start(
        actor=customer_actor(customer), language="en"
    )
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    got = verify_action(
        published,
        lambda: services.visitor_session_create(
            site_key=customer.site.key,
            origin=None,
            token=services.visitor_token_issue(customer=customer),
            locale="fr",
        ),
        {customer_group(customer.pk): ["conversation.updated"],
         user_group(agent.pk): ["conversation.updated"]},
    )  # fmt: skip
    for frames in got.values():
        snapshot = frames[0]["conversation"]
        assert snapshot["id"] == conversation.pk and snapshot["language"] == "fr"
        mine = [p for p in snapshot["participants"] if p["role"] == "customer"]
        assert mine[0]["language"] == "fr"


def test_a_note_goes_to_the_conversations_agents_and_never_to_the_customer(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    cust, mine = customer_group(customer.pk), user_group(agent.pk)
    # While it waits (offered to the agent), every console may read it: the lobby's.
    got = verify_action(
        published,
        lambda: services.note_add(
            actor=agent_actor(agent), conversation_id=conversation.pk, body="VIP customer"
        ),
        {cust: [], mine: [], AGENTS_GROUP: ["note.new"]},
    )
    assert got[AGENTS_GROUP][0]["note"]["body"] == "VIP customer"
    offer = open_offer(conversation)
    reservation_accept(actor=agent_actor(agent), reservation_id=offer.pk)
    # Assigned: its agent only.
    got = verify_action(
        published,
        lambda: services.note_add(
            actor=agent_actor(agent), conversation_id=conversation.pk, body="Refund approved"
        ),
        {cust: [], mine: ["note.new"], AGENTS_GROUP: []},
    )
    assert got[mine][0]["note"]["author"]["id"] == agent.pk


def test_a_csat_rating_goes_to_the_conversations_agent_and_never_to_the_customer(published):
    _, agent, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    conversation_actions.conversation_resolve(
        actor=agent_actor(agent), conversation_id=conversation.pk
    )
    cust, mine = customer_group(customer.pk), user_group(agent.pk)
    got = verify_action(
        published,
        lambda: services.csat_submit(
            actor=customer_actor(customer), conversation_id=conversation.pk, score=4,
            comment="Quick and kind",
        ),
        {cust: [], mine: ["csat.submitted"], AGENTS_GROUP: []},
    )  # fmt: skip
    frame = got[mine][0]
    assert frame["conversation"] == conversation.pk
    assert (frame["csat"]["score"], frame["csat"]["comment"]) == (4, "Quick and kind")


def test_a_csat_rating_also_reaches_an_agent_who_handed_the_conversation_on(published):
    queue, first, customer = _floor(published)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    reservation_accept(actor=agent_actor(first), reservation_id=open_offer(conversation).pk)
    second = online_agent(queue)
    agent_actions.conversation_transfer(
        actor=agent_actor(first), conversation_id=conversation.pk, to_agent_id=second.pk
    )
    conversation_actions.conversation_resolve(
        actor=agent_actor(second), conversation_id=conversation.pk
    )
    cust, earlier, last = customer_group(customer.pk), user_group(first.pk), user_group(second.pk)
    published.listen(earlier, last)
    got = verify_action(
        published,
        lambda: services.csat_submit(
            actor=customer_actor(customer), conversation_id=conversation.pk, score=2
        ),
        {cust: [], earlier: ["csat.submitted"], last: ["csat.submitted"], AGENTS_GROUP: []},
    )
    assert got[earlier][0]["csat"]["agent"] == second.pk


def test_every_broadcast_event_type_has_a_verify_action_test_here():
    """Direct replies (hello, pong, message.accepted, …) are checked where the socket
    answers them, in tests/chat and tests/routing; every pushed event type is checked here
    (tests/events/test_verify_*.py)."""
    from pathlib import Path

    source = "".join(p.read_text() for p in Path(__file__).parent.glob("test_verify_*.py"))
    missing = [
        name
        for name, event in events.REGISTRY.items()
        if event.broadcast and f'"{name}"]' not in source and f'"{name}",' not in source
    ]
    assert missing == []
