"""conversation.unresolve (the console's Undo of a resolve), end to end over the sockets:
the agent's console sends the real frames through WebsocketCommunicator on the ASGI
application, and each recipient (the console, the customer's widget) must get exactly the
frames listed, each a declared frame with its declared fields (Zulip's verify_action)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat import events
from chat.models import Conversation
from routing.models import QueueEntry
from tests.chat.test_consumers import console, new_agent, new_customer, recv, start, take, widget
from tests.routing.conftest import presence

pytestmark = pytest.mark.django_db(transaction=True)


async def drain(comm: WebsocketCommunicator, quiet: float = 0.7) -> list[dict]:
    """Every frame until the socket has been quiet for ``quiet`` seconds, checked against
    the registry (pongs and typing aside: timers, not the action's)."""
    frames = []
    while not await comm.receive_nothing(timeout=quiet):
        frame = await comm.receive_json_from()
        events.check(frame)
        if frame["type"] not in ("pong", "typing"):
            frames.append(frame)
    return frames


async def _resolved_chat():
    customer = await new_customer()
    agent = await new_agent()
    cust, _ = await widget(customer)
    cons, _ = await console(agent)
    conversation = await start(cust)
    assert (await take(cons, conversation["id"]))["type"] == "ack"
    await cons.send_json_to(
        {"type": "conversation.resolve", "id": "x", "conversation": conversation["id"]}
    )
    assert (await recv(cons, "ack"))["for"] == "conversation.resolve"
    closed = await recv(cust, "conversation.updated")
    while closed["conversation"]["status"] != "resolved":
        closed = await recv(cust, "conversation.updated")
    await drain(cust)
    await drain(cons)
    return agent, customer, cust, cons, conversation["id"], closed["conversation"]["rev"]


@database_sync_to_async
def _state(conversation_id: int, agent):
    c = Conversation.objects.get(pk=conversation_id)
    entry = QueueEntry.objects.filter(conversation_id=conversation_id, state="assigned").get()
    return c.status, c.assignee_id, entry.closed_at, presence(agent).load


async def test_undo_tells_the_console_and_the_widget_and_reassigns():
    agent, _customer, cust, cons, cid, resolved_rev = await _resolved_chat()
    assert (await _state(cid, agent))[3] == 0

    await cons.send_json_to({"type": "conversation.unresolve", "id": "u1", "conversation": cid})
    got_console = await drain(cons)
    got_widget = await drain(cust)

    assert sorted(f["type"] for f in got_console) == [
        "ack",
        "conversation.updated",
        "message.new",
    ]
    ack = next(f for f in got_console if f["type"] == "ack")
    assert ack == {"type": "ack", "ref": "u1", "for": "conversation.unresolve", "conversation": cid}
    assert [f["type"] for f in got_widget] == ["message.new", "conversation.updated"]
    for frames in (got_console, got_widget):
        update = next(f for f in frames if f["type"] == "conversation.updated")["conversation"]
        assert update["status"] == "assigned" and update["assignee"]["id"] == agent.pk
        assert update["rev"] > resolved_rev
        line = next(f for f in frames if f["type"] == "message.new")["message"]
        assert line["kind"] == "event" and line["data"]["line"] == "reopened"
    status, assignee, closed_at, load = await _state(cid, agent)
    assert (status, assignee, closed_at, load) == ("assigned", agent.pk, None, 1)

    # Again (a retry): acknowledged, and nobody is told anything new.
    await cons.send_json_to({"type": "conversation.unresolve", "id": "u2", "conversation": cid})
    assert [f["type"] for f in await drain(cons)] == ["ack"]
    assert await drain(cust) == []
    await cust.disconnect()
    await cons.disconnect()


async def test_refused_undos_get_an_error_frame_and_change_nothing(settings):
    agent, _customer, cust, cons, cid, _rev = await _resolved_chat()
    other = await new_agent()
    stranger, _ = await console(other)
    await stranger.send_json_to({"type": "conversation.unresolve", "id": "u1", "conversation": cid})
    error = await recv(stranger, "error")
    # Not in the conversation: the same answer as for a missing id.
    assert (error["code"], error["ref"]) == ("not_found", "u1")

    settings.PARLEY = {**settings.PARLEY, "RESOLVE_UNDO_SECONDS": 0}
    await cons.send_json_to({"type": "conversation.unresolve", "id": "u2", "conversation": cid})
    frames = await drain(cons)
    assert [(f["type"], f.get("code")) for f in frames] == [("error", "undo_expired")]
    assert await drain(cust) == []
    assert (await _state(cid, agent))[0] == "resolved"

    # The widget has no such frame.
    await cust.send_json_to({"type": "conversation.unresolve", "id": "u3", "conversation": cid})
    assert (await recv(cust, "error"))["code"] == "unknown_type"
    for comm in (cust, cons, stranger):
        await comm.disconnect()


async def test_every_console_that_saw_the_resolve_sees_the_undo():
    """The resolve reached every console (the lobby); so must its undo, or another agent's
    or a supervisor's console shows the chat resolved until its next change."""
    agent, _customer, cust, cons, cid, resolved_rev = await _resolved_chat()
    other, _ = await console(await new_agent())
    await drain(other)
    await cons.send_json_to({"type": "conversation.unresolve", "id": "u1", "conversation": cid})
    updates = [f for f in await drain(other) if f["type"] == "conversation.updated"]
    assert [
        (u["conversation"]["status"], u["conversation"]["assignee"]["id"]) for u in updates
    ] == [("assigned", agent.pk)]
    assert updates[0]["conversation"]["rev"] > resolved_rev
    # Its own console hears it once, though it is in two of the frame's groups.
    own = [f for f in await drain(cons) if f["type"] == "conversation.updated"]
    assert len(own) == 1
    for comm in (cust, cons, other):
        await comm.disconnect()
