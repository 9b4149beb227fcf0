"""Group conversations over the console socket: the assigned agent invites another agent,
who then gets the messages, receipts and typing, and writes; the customer sees who joined
and who left; bad invitations get clear errors."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.models import Participant
from tests.chat.test_consumers import console, recv, send, start, take, widget
from tests.factories import make_agent, make_customer

pytestmark = pytest.mark.django_db(transaction=True)


async def events_text(comm, word):
    """The next event line that contains ``word`` (earlier ones are skipped), in a list."""
    while True:
        frame = await recv(comm, "message.new")
        if frame["message"]["kind"] == "event" and word in frame["message"]["body"]:
            return [frame["message"]["body"]]


async def test_an_invited_agent_chats_then_leaves():
    customer = await database_sync_to_async(make_customer)()
    alice = await database_sync_to_async(make_agent)("alice_g")
    bob = await database_sync_to_async(make_agent)("bob_g")
    cust, _ = await widget(customer)
    cid = (await start(cust))["id"]
    await send(cust, cid, "I need two of you", "c1")
    mine, _ = await console(alice)
    bobs, _ = await console(bob)
    assert (await take(mine, cid))["type"] == "ack"

    # Bob may not invite himself into Alice's chat, nor may Alice invite a stranger.
    await bobs.send_json_to({"type": "conversation.invite", "id": "i", "conversation": cid,
                             "agent": bob.pk})  # fmt: skip
    refused = await recv(bobs, "error", "ack")
    assert refused["type"] == "error", refused
    assert refused["code"] == "not_found"
    await mine.send_json_to({"type": "conversation.invite", "id": "i", "conversation": cid,
                             "agent": 10**9})  # fmt: skip
    assert (await recv(mine, "error"))["code"] == "agent_not_found"

    await mine.send_json_to({"type": "conversation.invite", "id": "i", "conversation": cid,
                             "agent": bob.pk})  # fmt: skip
    assert (await recv(mine, "ack", "error"))["type"] == "ack"
    assert await events_text(cust, "Bob_G") == ["Bob_G joined the conversation."]
    # Bob's console may first get the take's update (Alice alone, a lower rev), then the
    # invite's: the first snapshot that has him must have Alice too.
    names: list[str] = []
    while "Bob_G" not in names:
        updated = await recv(bobs, "conversation.updated")
        names = [p["name"] for p in updated["conversation"]["participants"] if p["active"]]
    assert "Alice_G" in names
    await mine.send_json_to({"type": "conversation.invite", "id": "i", "conversation": cid,
                             "agent": bob.pk})  # fmt: skip
    assert (await recv(mine, "error"))["code"] == "already_in"

    # Bob writes; the customer and Alice get it. The customer types: Bob sees it.
    accepted = await send(bobs, cid, "Bob here, from billing.", "b1")
    assert accepted["type"] == "message.accepted"
    got = await recv(cust, "message.new")
    assert got["message"]["body"] == "Bob here, from billing."
    assert (await recv(mine, "message.new"))["message"]["sender"]["name"] == "Bob_G"
    await cust.send_json_to({"type": "typing", "conversation": cid, "state": "start"})
    assert (await recv(bobs, "typing"))["role"] == "customer"
    await cust.send_json_to({"type": "receipt", "conversation": cid,
                             "read_seq": got["message"]["seq"]})  # fmt: skip
    assert (await recv(bobs, "receipt.updated"))["role"] == "customer"

    # Alice cannot leave her own chat; Bob leaves, and everyone is told.
    await mine.send_json_to({"type": "conversation.leave", "id": "l", "conversation": cid})
    assert (await recv(mine, "error"))["code"] == "assignee"
    await bobs.send_json_to({"type": "conversation.leave", "id": "l", "conversation": cid})
    assert (await recv(bobs, "ack", "error"))["type"] == "ack"
    assert await events_text(cust, "left") == ["Bob_G left the conversation."]
    left = await database_sync_to_async(
        lambda: Participant.objects.get(conversation_id=cid, user=bob).left_at
    )()
    assert left is not None
    await bobs.send_json_to({"type": "conversation.leave", "id": "l", "conversation": cid})
    assert (await recv(bobs, "error"))["code"] in ("not_participant", "not_found")

    # Bob's outbox retries the message he sent before leaving: it gets the stored one, as
    # any retry does, not a refusal (which it could only give up on, or retry forever).
    again = await send(bobs, cid, "Bob here, from billing.", "b1")
    assert again["type"] == "message.accepted", again
    assert (again["duplicate"], again["seq"]) == (True, accepted["seq"])
    fresh = await send(bobs, cid, "one more thing", "b2")
    assert fresh["type"] == "error" and fresh["code"] == "forbidden", fresh
    for comm in (cust, mine, bobs):
        await comm.disconnect()
