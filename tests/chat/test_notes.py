"""Internal notes: agents write them, agents read them, and no customer path ever carries
one: not the widget's socket (pushes, hello, resume), not the widget's REST reads, not the
customer's transcript. Over the real ASGI application and the configured channel layer."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from chat import services
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Message, Note
from chat.selectors import notes_for_actor
from tests.chat.test_consumers import console, recv, send, start, take, widget
from tests.factories import agent_actor, customer_actor, make_agent, make_customer

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "SECRET-NOTE <img src=x onerror=alert(1)> refund approved"


async def add_note(comm, conversation_id, body, cid=None, ref="n"):
    frame = {"type": "note.add", "id": ref, "conversation": conversation_id, "body": body}
    if cid is not None:
        frame["client_note_id"] = cid
    await comm.send_json_to(frame)
    return await recv(comm, "note.accepted", "error")


async def everything_received(comm) -> list[dict]:
    frames = []
    while not await comm.receive_nothing(timeout=0.3):
        frames.append(await comm.receive_json_from())
    return frames


async def test_a_note_reaches_the_agents_and_never_the_customer():
    customer = await database_sync_to_async(make_customer)(name="Zoé")
    agent = await database_sync_to_async(make_agent)()
    other = await database_sync_to_async(make_agent)()
    cust, _ = await widget(customer)
    conversation = await start(cust)
    cid = conversation["id"]
    await send(cust, cid, "Where is my refund?", "c1")
    mine, _ = await console(agent)
    assert (await take(mine, cid))["type"] == "ack"

    # While it is assigned, a second console (not in it) may not write on it.
    theirs, _ = await console(other)
    refused = await add_note(theirs, cid, "peeking")
    assert refused["code"] == "not_found"

    await everything_received(cust)
    accepted = await add_note(mine, cid, SECRET, cid="n-1")
    assert accepted["type"] == "note.accepted" and accepted["duplicate"] is False
    note = accepted["note"]
    assert note["body"] == SECRET and note["kind"] == "note"
    assert note["author"]["id"] == agent.pk
    pushed = await recv(mine, "note.new")
    assert pushed["note"]["id"] == note["id"]
    again = await add_note(mine, cid, SECRET, cid="n-1")
    assert again["duplicate"] is True and again["note"]["id"] == note["id"]

    # The customer's socket got nothing of it: no push, and not in hello or resume.
    got = await everything_received(cust)
    assert all("SECRET-NOTE" not in json.dumps(f) for f in got)
    await cust.send_json_to({"type": "resume", "id": "r", "conversation": cid, "after_seq": 0})
    batch = await recv(cust, "messages.batch")
    assert "SECRET-NOTE" not in json.dumps(batch)
    # Seq stays contiguous for the customer: the note took none.
    assert [m["seq"] for m in batch["messages"]] == list(range(1, len(batch["messages"]) + 1))
    for frame_type in ("note.add", "notes.fetch"):
        await cust.send_json_to({"type": frame_type, "id": "x", "conversation": cid, "body": "x"})
        error = await recv(cust, "error")
        assert error["code"] == "unknown_type"
    await cust.disconnect()
    cust2, hello = await widget(customer)
    assert "SECRET-NOTE" not in json.dumps(hello)
    await cust2.disconnect()

    # A console fetches notes (after a reconnect, when it opens a conversation).
    await mine.send_json_to({"type": "notes.fetch", "id": "f", "conversation": cid})
    fetched = await recv(mine, "notes.batch")
    assert [n["id"] for n in fetched["notes"]] == [note["id"]]
    assert fetched["has_more"] is False
    await mine.send_json_to(
        {"type": "notes.fetch", "id": "f2", "conversation": cid, "after": note["id"]}
    )
    assert (await recv(mine, "notes.batch"))["notes"] == []
    await mine.send_json_to({"type": "notes.fetch", "id": "f3", "conversation": cid, "after": -1})
    assert (await recv(mine, "error"))["field"] == "after"
    await mine.disconnect()
    await theirs.disconnect()

    # The widget's REST reads: the conversation and its messages carry no note.
    def rest_reads() -> list[str]:
        token = services.visitor_token_issue(customer=customer)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
        bodies = []
        for url in (
            "/api/v1/conversations/",
            f"/api/v1/conversations/{cid}/",
            f"/api/v1/conversations/{cid}/messages/?after_seq=0",
            f"/api/v1/conversations/{cid}/events/",
        ):
            response = client.get(url)
            assert response.status_code in (200, 403, 404), url
            bodies.append(response.content.decode())
        return bodies

    for body in await database_sync_to_async(rest_reads)():
        assert "SECRET-NOTE" not in body

    # The transcript as stored: a message table without it.
    stored = await database_sync_to_async(list)(Message.objects.values_list("body", flat=True))
    assert all("SECRET-NOTE" not in b for b in stored)


async def test_bad_notes_get_clear_errors():
    customer = await database_sync_to_async(make_customer)()
    agent = await database_sync_to_async(make_agent)()
    cust, _ = await widget(customer)
    cid = (await start(cust))["id"]
    await send(cust, cid, "hi", "c1")
    mine, _ = await console(agent)
    await take(mine, cid)
    for body, code, field in (
        ("", "invalid_field", "body"),
        (7, "invalid_field", "body"),
        ("x" * 100_000, "too_large", None),
    ):
        error = await add_note(mine, cid, body)
        assert error["type"] == "error" and error["code"] == code
        if field:
            assert error["field"] == field
    error = await add_note(mine, cid, "ok", cid="bad id with spaces")
    assert error["field"] == "client_note_id"
    error = await add_note(mine, 10**9, "ok")
    assert error["code"] == "not_found"
    await mine.send_json_to({"type": "note.add", "id": "n", "conversation": "12", "body": "x"})
    assert (await recv(mine, "error"))["field"] == "conversation"
    # The socket survived all of it.
    assert (await add_note(mine, cid, "still here"))["type"] == "note.accepted"
    await mine.disconnect()
    await cust.disconnect()


def test_services_refuse_customers_and_strangers():
    customer = make_customer()
    conversation, _ = services.conversation_open(actor=customer_actor(customer))
    with pytest.raises(PermissionDenied):
        services.note_add(actor=customer_actor(customer), conversation_id=conversation.pk, body="x")
    with pytest.raises(NotFound):
        notes_for_actor(actor=customer_actor(customer), conversation_id=conversation.pk)
    # In the bot stage a plain agent does not see the conversation at all.
    agent = make_agent()
    with pytest.raises(NotFound):
        services.note_add(actor=agent_actor(agent), conversation_id=conversation.pk, body="x")
    with pytest.raises(ValidationError):
        services.note_add(actor=agent_actor(agent), conversation_id=conversation.pk, body=" ")
    assert Note.objects.count() == 0
