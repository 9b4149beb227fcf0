"""Attachments on the socket: message.send carries the ids, message.new the metadata to
every participant (the customer's tabs and the agent's console), bad ids get an error
frame and the socket lives on."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.events import ATTACHMENT_FIELDS
from chat.services.attachments import attachment_upload
from routing.services import conversation_assign
from tests.chat.test_attachments import attachments_dir, png  # noqa: F401 (fixture)
from tests.chat.test_consumers import console, recv, start, widget
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(actor, data=None, name="photo.png", conversation_id=None) -> str:
    upload = SimpleUploadedFile(name, data or png(), content_type="image/png")
    return str(attachment_upload(actor=actor, upload=upload, conversation_id=conversation_id).pk)


async def _send(comm, conversation_id, cid, attachments, body=None, ref="m"):
    frame = {
        "type": "message.send",
        "id": ref,
        "conversation": conversation_id,
        "client_msg_id": cid,
        "attachments": attachments,
    }
    if body is not None:
        frame["body"] = body
    await comm.send_json_to(frame)
    return await recv(comm, "message.accepted", "error")


async def test_an_image_goes_both_ways_on_the_socket():
    customer = await database_sync_to_async(make_customer)(
        site=await database_sync_to_async(make_site)()
    )
    agent = await database_sync_to_async(make_agent)()
    comm, _ = await widget(customer)
    conversation = await start(comm)
    await database_sync_to_async(conversation_assign)(
        actor=agent_actor(agent), conversation_id=conversation["id"]
    )
    desk, _ = await console(agent)
    upload_id = await database_sync_to_async(_upload)(customer_actor(customer))
    accepted = await _send(comm, conversation["id"], "s-1", [upload_id])
    assert accepted["type"] == "message.accepted", accepted
    for socket in (comm, desk):
        while True:
            new = await recv(socket, "message.new")
            if new["message"]["seq"] == accepted["seq"]:
                break
        [attachment] = new["message"]["attachments"]
        assert set(attachment) == ATTACHMENT_FIELDS
        assert attachment["id"] == upload_id and attachment["kind"] == "image"
        assert attachment["thumbnail_url"].startswith(f"/api/v1/attachments/{upload_id}/")
    # The agent answers with a file of their own.
    reply_id = await database_sync_to_async(_upload)(
        agent_actor(agent), b"%PDF-1.4\n%%EOF\n", "invoice.pdf", conversation["id"]
    )
    accepted = await _send(desk, conversation["id"], "a-1", [reply_id], body="Your invoice")
    assert accepted["type"] == "message.accepted", accepted
    while True:
        new = await recv(comm, "message.new")
        if new["message"]["seq"] == accepted["seq"]:
            break
    assert new["message"]["attachments"][0]["name"] == "invoice.pdf"
    assert new["message"]["attachments"][0]["kind"] == "file"
    await comm.disconnect()
    await desk.disconnect()


async def test_bad_attachment_ids_get_an_error_frame_and_the_socket_lives():
    site = await database_sync_to_async(make_site)()
    alice = await database_sync_to_async(make_customer)(site=site)
    bob = await database_sync_to_async(make_customer)(site=site)
    comm, _ = await widget(alice)
    conversation = await start(comm)
    bobs = await database_sync_to_async(_upload)(customer_actor(bob))
    refused = await _send(comm, conversation["id"], "s-1", [bobs], ref="m1")
    assert (refused["type"], refused["code"]) == ("error", "attachment_not_found")
    refused = await _send(comm, conversation["id"], "s-2", "nope", ref="m2")
    assert (refused["code"], refused["field"]) == ("invalid_field", "attachments")
    too_many = [await database_sync_to_async(_upload)(customer_actor(alice)) for _ in range(6)]
    refused = await _send(comm, conversation["id"], "s-3", too_many, ref="m3")
    assert refused["code"] == "too_many_attachments"
    ok = await _send(comm, conversation["id"], "s-4", too_many[:1], body="still here", ref="m4")
    assert ok["type"] == "message.accepted"
    await comm.disconnect()
