"""Routing over the real sockets (WebsocketCommunicator on config.asgi.application and the
configured Redis layer): offers, accept/decline, presence, heartbeats, the reconnect
snapshot, transfers and the customer's queue position."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from agents import heartbeats
from agents.models import AgentPresence, AgentProfile
from chat.models import Conversation
from config.asgi import application
from routing.models import Queue, Reservation
from tests.chat.test_consumers import TIMEOUT, recv, start, widget
from tests.factories import make_agent, make_customer, make_site, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def console(user, tab: str = "1"):
    sid = await database_sync_to_async(session_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    hello = await recv(comm, "hello")
    presence = await recv(comm, "agent.presence")  # registered live right after hello
    return comm, hello, presence


@database_sync_to_async
def shop(**queue_kw):
    queue = Queue.objects.create(name=queue_kw.pop("name", "Support"), **queue_kw)
    return make_site(default_queue=queue), queue


@database_sync_to_async
def agent_for(queue, **kw):
    user = make_agent(**kw)
    AgentProfile.objects.get(user=user).queues.add(queue)
    return user


@database_sync_to_async
def customer_of(site):
    return make_customer(site=site)


@database_sync_to_async
def status_of(conversation_id: int) -> str:
    return Conversation.objects.get(pk=conversation_id).status


async def test_offer_accept_flow_over_the_sockets():
    site, queue = await shop(limit_mode="none")
    agent = await agent_for(queue)
    cons, hello, presence = await console(agent)
    assert hello["offers"] == [] and presence["presence"]["status"] == "online"
    cust, _ = await widget(await customer_of(site))
    conversation = await start(cust)
    offered = await recv(cons, "reservation.offered")
    offer = offered["reservation"]
    assert offer["conversation"]["id"] == conversation["id"] and offer["state"] == "offered"
    assert offer["queue"]["name"] == "Support" and 0 < offer["expires_in"] <= 20
    position = await recv(cust, "queue.position")
    assert position["conversation"] == conversation["id"] and position["mode"] == "live"

    await cons.send_json_to({"type": "reservation.accept", "id": "a", "reservation": offer["id"]})
    ack = await recv(cons, "ack", "error")
    assert ack == {
        "type": "ack",
        "ref": "a",
        "for": "reservation.accept",
        "reservation": offer["id"],
        "conversation": conversation["id"],
    }
    accepted = await recv(cons, "reservation.accepted")
    assert accepted["reservation"]["state"] == "accepted"
    updated = await recv(cust, "conversation.updated")
    while updated["conversation"]["status"] != "assigned":
        updated = await recv(cust, "conversation.updated")
    assert updated["conversation"]["assignee"]["id"] == agent.pk
    # Accepting twice is harmless; someone else's offer is not found.
    await cons.send_json_to({"type": "reservation.accept", "id": "b", "reservation": offer["id"]})
    assert (await recv(cons, "ack", "error"))["type"] == "ack"
    await cons.send_json_to({"type": "reservation.accept", "id": "c", "reservation": 10**9})
    assert (await recv(cons, "ack", "error"))["code"] == "offer_not_found"
    await cust.disconnect()
    await cons.disconnect()


async def frames_until_quiet(comm, quiet: float = 1.0) -> list[dict]:
    frames = []
    while not await comm.receive_nothing(timeout=quiet):
        frames.append(await comm.receive_json_from(timeout=TIMEOUT))
    return frames


async def test_the_newest_snapshot_of_a_new_conversation_is_its_current_state():
    # The start's own snapshot ("queued") may arrive after the router's ("offered"), as
    # on-commit callbacks run in registration order: its lower rev tells the client to
    # drop it, so a widget or lobby applying the rev rule ends on "offered".
    site, queue = await shop(limit_mode="none")
    agent = await agent_for(queue)
    cons, _, _ = await console(agent)
    cust, _ = await widget(await customer_of(site))
    await cust.send_json_to({"type": "conversation.start", "id": "s"})
    to_customer, to_console = await frames_until_quiet(cust), await frames_until_quiet(cons)
    assert "reservation.offered" in [f["type"] for f in to_console]
    for frames in (to_customer, to_console):
        snapshots = [f["conversation"] for f in frames if f["type"] == "conversation.updated"]
        applied = None
        for snapshot in snapshots:  # the client rule: drop a lower rev
            if applied is None or snapshot["rev"] >= applied["rev"]:
                applied = snapshot
        assert applied is not None and applied["status"] == "offered", snapshots
    await cust.disconnect()
    await cons.disconnect()


async def test_decline_over_the_socket_moves_the_offer_on():
    site, queue = await shop(limit_mode="none")
    first = await agent_for(queue)
    cons1, _, _ = await console(first)
    cust, _ = await widget(await customer_of(site))
    conversation = await start(cust)
    offer = (await recv(cons1, "reservation.offered"))["reservation"]
    second = await agent_for(queue)
    cons2, _, _ = await console(second)
    await cons1.send_json_to(
        {"type": "reservation.decline", "id": "d", "reservation": offer["id"], "reason": "busy"}
    )
    ack = await recv(cons1, "ack", "error")
    assert ack["for"] == "reservation.decline" and ack["conversation"] == conversation["id"]
    declined = await recv(cons1, "reservation.declined")
    assert declined["reservation"]["reason"] == "busy"
    moved = await recv(cons2, "reservation.offered")
    assert moved["reservation"]["conversation"]["id"] == conversation["id"]
    assert moved["reservation"]["attempt"] == 2
    for comm in (cust, cons1, cons2):
        await comm.disconnect()


async def test_a_reconnecting_console_gets_its_offers_and_chats_back():
    site, queue = await shop(limit_mode="none")
    agent = await agent_for(queue)
    tab1, _, _ = await console(agent, "1")
    tab2, _, _ = await console(agent, "2")
    cust, _ = await widget(await customer_of(site))
    conversation = await start(cust)
    offer = (await recv(tab1, "reservation.offered"))["reservation"]
    await tab1.disconnect()  # tab 2 is still open: the offer stands
    tab3, hello, presence = await console(agent, "3")
    assert [o["id"] for o in hello["offers"]] == [offer["id"]]
    assert 0 < hello["offers"][0]["expires_in"] <= 20
    assert any(c["id"] == conversation["id"] for c in hello["conversations"])
    assert hello["presence"]["status"] == "online"
    await tab3.send_json_to({"type": "reservation.accept", "reservation": offer["id"]})
    assert (await recv(tab3, "ack", "error"))["type"] == "ack"
    await tab3.disconnect()
    await tab2.disconnect()
    # Both tabs closed: offline; the assigned chat is in the next hello.
    assert (
        await database_sync_to_async(lambda: AgentPresence.objects.get(user=agent).status)()
        == "offline"
    )
    tab4, hello, presence = await console(agent, "4")
    assert presence["presence"]["status"] == "online"
    mine = [c for c in hello["conversations"] if c["id"] == conversation["id"]]
    assert mine and mine[0]["status"] == "assigned"
    await tab4.disconnect()
    await cust.disconnect()


async def test_a_console_pong_lists_the_agents_open_offers():
    # A reservation.offered push can be lost (pushes are hints): the console's next pong
    # lists the open offers, so the console shows it within a heartbeat.
    site, queue = await shop(limit_mode="none")
    agent = await agent_for(queue)
    cons, _, _ = await console(agent)
    await cons.send_json_to({"type": "ping", "id": "p1"})
    assert (await recv(cons, "pong"))["offers"] == []
    cust, _ = await widget(await customer_of(site))
    conversation = await start(cust)
    pushed = (await recv(cons, "reservation.offered"))["reservation"]
    await cons.send_json_to({"type": "ping", "id": "p2"})
    pong = await recv(cons, "pong")
    (listed,) = pong["offers"]
    assert listed["id"] == pushed["id"] and listed["conversation"]["id"] == conversation["id"]
    assert listed["state"] == "offered" and 0 < listed["expires_in"] <= 20
    assert listed.keys() == pushed.keys()
    # Answered: gone from the next pong.
    await cons.send_json_to({"type": "reservation.decline", "id": "d", "reservation": pushed["id"]})
    assert (await recv(cons, "ack", "error"))["type"] == "ack"
    await cons.send_json_to({"type": "ping", "id": "p3"})
    assert (await recv(cons, "pong"))["offers"] == []
    # A widget's pong has no offers.
    await cust.send_json_to({"type": "ping", "id": "w"})
    assert "offers" not in await recv(cust, "pong")
    await cons.disconnect()
    await cust.disconnect()


async def test_presence_frames_and_heartbeats():
    _, queue = await shop()
    agent = await agent_for(queue)
    cons, _, _ = await console(agent)
    await cons.send_json_to({"type": "presence.set", "id": 1, "status": "away"})
    ack = await recv(cons, "ack", "error")
    assert ack == {"type": "ack", "ref": 1, "for": "presence.set", "status": "away"}
    frame = await recv(cons, "agent.presence")
    assert frame["presence"]["status"] == "away" and frame["presence"]["reason"] == "manual"
    await cons.send_json_to({"type": "presence.set", "id": 2, "status": "lunch"})
    error = await recv(cons, "ack", "error")
    assert (error["code"], error["field"], error["ref"]) == ("invalid_field", "status", 2)

    before = await database_sync_to_async(
        lambda: AgentPresence.objects.get(user=agent).live_until
    )()
    await cons.send_json_to({"type": "ping", "id": "p"})
    assert (await recv(cons, "pong"))["ref"] == "p"
    # The ping itself wrote nothing: heartbeats are stored in batches (agents.heartbeats).
    live = database_sync_to_async(lambda: AgentPresence.objects.get(user=agent).live_until)
    assert await live() == before
    await database_sync_to_async(heartbeats.buffer.flush)()
    assert await live() > before
    await cons.disconnect()


async def test_routing_frames_reject_bad_input():
    _, queue = await shop()
    cons, _, _ = await console(await agent_for(queue))
    for frame, code in [
        ({"type": "reservation.accept"}, "invalid_field"),
        ({"type": "reservation.accept", "reservation": "7"}, "invalid_field"),
        ({"type": "reservation.decline", "reservation": 10**9}, "offer_not_found"),
        ({"type": "conversation.transfer", "conversation": 1}, "invalid_field"),
        ({"type": "conversation.transfer", "conversation": 10**9, "to_queue": 1}, "not_found"),
        ({"type": "conversation.transfer", "conversation": 1, "to_agent": -1}, "invalid_field"),
    ]:
        await cons.send_json_to(frame)
        assert (await recv(cons, "error"))["code"] == code, frame
    await cons.send_json_to({"type": "ping"})
    assert (await recv(cons, "pong"))["type"] == "pong"  # still alive
    await cons.disconnect()


async def test_widget_cannot_use_console_frames():
    site, _ = await shop()
    cust, _ = await widget(await customer_of(site))
    for kind in (
        "reservation.accept",
        "reservation.decline",
        "presence.set",
        "conversation.transfer",
    ):
        await cust.send_json_to({"type": kind, "reservation": 1})
        assert (await recv(cust, "error"))["code"] == "unknown_type"
    await cust.disconnect()


async def test_transfer_over_the_socket():
    site, queue = await shop(limit_mode="none")
    ana = await agent_for(queue)
    cons, _, _ = await console(ana)
    cust, _ = await widget(await customer_of(site))
    conversation = await start(cust)
    offer = (await recv(cons, "reservation.offered"))["reservation"]
    await cons.send_json_to({"type": "reservation.accept", "reservation": offer["id"]})
    await recv(cons, "ack")
    bob = await agent_for(queue)
    bob_cons, _, _ = await console(bob)
    await cons.send_json_to(
        {"type": "conversation.transfer", "id": "x", "conversation": conversation["id"],
         "to_agent": bob.pk, "note": "speaks Italian"}
    )  # fmt: skip
    ack = await recv(cons, "ack", "error")
    assert ack["for"] == "conversation.transfer"
    frame = await recv(bob_cons, "conversation.transferred")
    assert frame["note"] == "speaks Italian" and frame["conversation"]["assignee"]["id"] == bob.pk
    for comm in (cust, cons, bob_cons):
        await comm.disconnect()


async def test_a_customer_with_nobody_to_serve_them_is_told_to_leave_a_message():
    site, _ = await shop(limit_mode="dynamic")
    cust, _ = await widget(await customer_of(site))
    conversation = await start(cust)
    position = await recv(cust, "queue.position")
    assert position["mode"] == "offline" and position["reason"] == "no_agents"
    assert "Leave your message" in position["message"]
    assert await status_of(conversation["id"]) == "queued"  # kept, answered later
    await cust.disconnect()
    # Seen on return: the reconnecting widget gets the position (and the conversation) again.
    again, hello = await widget(
        await database_sync_to_async(make_customer_from)(conversation["id"])
    )
    assert [c["id"] for c in hello["conversations"]] == [conversation["id"]]
    position = await recv(again, "queue.position")
    assert position["conversation"] == conversation["id"] and position["mode"] == "offline"
    await again.disconnect()


def make_customer_from(conversation_id: int):
    return Conversation.objects.get(pk=conversation_id).customer


async def test_the_queue_position_counts_down():
    site, _ = await shop(limit_mode="none")
    first, _ = await widget(await customer_of(site))
    second, _ = await widget(await customer_of(site))
    await start(first)
    c2 = await start(second)
    assert (await recv(second, "queue.position"))["position"] == 2
    from routing.services import routing_sweep

    await database_sync_to_async(routing_sweep)()  # the first broadcast: still 2
    assert (await recv(second, "queue.position"))["position"] == 2
    queue = await database_sync_to_async(Queue.objects.get)(name="Support")
    agent = await agent_for(queue, max_concurrent_chats=1)
    cons, _, _ = await console(agent)
    offer = (await recv(cons, "reservation.offered"))["reservation"]
    await cons.send_json_to({"type": "reservation.accept", "reservation": offer["id"]})
    await recv(cons, "ack")
    await database_sync_to_async(routing_sweep)()
    update = await recv(second, "queue.position")
    assert update["conversation"] == c2["id"] and update["position"] == 1
    assert (
        await database_sync_to_async(lambda: Reservation.objects.filter(state="offered").count())()
        == 0
    )
    for comm in (first, second, cons):
        await comm.disconnect()
