"""The socket protocol through WebsocketCommunicator on the real ASGI application and the
Redis channel layer configured in settings."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from actions import conversations as conversation_actions
from chat import recipients, services
from chat.models import Conversation, Message, Participant
from config.asgi import application
from routing.services import conversation_assign
from tests.factories import (
    agent_actor,
    customer_actor,
    make_agent,
    make_customer,
    make_site,
    session_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


# --- helpers ------------------------------------------------------------------------------
async def recv(comm: WebsocketCommunicator, *types: str, timeout: float = TIMEOUT) -> dict:
    """The next frame of one of `types`, skipping others (events may interleave)."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if not types or frame["type"] in types:
            return frame


async def no_frame(comm: WebsocketCommunicator, timeout: float = 0.3) -> bool:
    return await comm.receive_nothing(timeout=timeout)


async def widget(customer, origin: bytes | None = None):
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    headers = [(b"origin", origin)] if origin else []
    comm = WebsocketCommunicator(application, f"/ws/widget/?token={token}", headers=headers)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    hello = await recv(comm, "hello")
    return comm, hello


async def console(user):
    sid = await database_sync_to_async(session_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    hello = await recv(comm, "hello")
    return comm, hello


async def start(comm) -> dict:
    await comm.send_json_to({"type": "conversation.start", "id": "s"})
    return (await recv(comm, "conversation.started"))["conversation"]


async def send(comm, conversation_id: int, body: str, cid: str, ref="m") -> dict:
    await comm.send_json_to(
        {
            "type": "message.send",
            "id": ref,
            "conversation": conversation_id,
            "body": body,
            "client_msg_id": cid,
        }
    )
    return await recv(comm, "message.accepted", "error")


async def take(comm, conversation_id: int) -> dict:
    await comm.send_json_to(
        {"type": "conversation.take", "id": "t", "conversation": conversation_id}
    )
    return await recv(comm, "ack", "error")


@database_sync_to_async
def new_customer(**kw):
    return make_customer(**kw)


@database_sync_to_async
def new_agent():
    return make_agent()


# --- authentication -----------------------------------------------------------------------
async def assert_closed_with(comm, code: int, error_code: str | None = None):
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected  # accepted, then closed, so the client sees the reason
    frame = await comm.receive_output(timeout=TIMEOUT)
    if error_code:
        assert json.loads(frame["text"])["code"] == error_code
        frame = await comm.receive_output(timeout=TIMEOUT)
    assert frame == {"type": "websocket.close", "code": code}


async def test_widget_without_or_with_a_bad_token_is_closed_4401():
    await assert_closed_with(
        WebsocketCommunicator(application, "/ws/widget/"), 4401, "unauthenticated"
    )
    await assert_closed_with(
        WebsocketCommunicator(application, "/ws/widget/?token=forged"), 4401, "token_invalid"
    )


async def test_widget_from_a_foreign_origin_is_closed_4403():
    site = await database_sync_to_async(make_site)(allowed_origins=["https://shop.example"])
    customer = await new_customer(site=site)
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    await assert_closed_with(
        WebsocketCommunicator(
            application,
            f"/ws/widget/?token={token}",
            headers=[(b"origin", b"https://evil.example")],
        ),
        4403,
        "origin_not_allowed",
    )
    comm, hello = await widget(customer, origin=b"https://shop.example")
    assert hello["role"] == "customer"
    await comm.disconnect()


async def test_console_needs_a_logged_in_agent(django_user_model):
    await assert_closed_with(
        WebsocketCommunicator(
            application, "/ws/agent/", headers=[(b"origin", b"http://127.0.0.1")]
        ),
        4401,
        "unauthenticated",
    )
    plain = await database_sync_to_async(django_user_model.objects.create_user)(
        "plain", password="pw"
    )
    sid = await database_sync_to_async(session_cookie)(plain)
    headers = [(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")]
    await assert_closed_with(
        WebsocketCommunicator(application, "/ws/agent/", headers=headers), 4403, "forbidden"
    )


async def test_console_refuses_a_foreign_origin():
    agent = await new_agent()
    sid = await database_sync_to_async(session_cookie)(agent)
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"https://evil.example")],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert not connected


# --- the conversation, end to end ------------------------------------------------------------
async def test_customer_and_agent_chat_with_receipts_and_typing():
    customer = await new_customer()
    agent = await new_agent()
    cust, hello = await widget(customer)
    assert hello["conversations"] == [] and hello["heartbeat_interval"] > 0
    cons, _ = await console(agent)

    conversation = await start(cust)
    assert conversation["status"] == "queued"
    lobby = await recv(cons, "conversation.updated")
    assert lobby["conversation"]["id"] == conversation["id"]

    accepted = await send(cust, conversation["id"], "Bonjour, ma commande ?", "c-1")
    assert (
        accepted["type"] == "message.accepted"
        and accepted["ref"] == "m"
        and not accepted["duplicate"]
    )
    preview = await recv(cons, "message.new")  # waiting-room preview
    assert preview["message"]["seq"] == accepted["seq"]

    ack = await take(cons, conversation["id"])
    assert ack == {
        "type": "ack",
        "ref": "t",
        "for": "conversation.take",
        "conversation": conversation["id"],
    }
    updated = await recv(cust, "conversation.updated")
    assert updated["conversation"]["status"] == "assigned"
    assert updated["conversation"]["assignee"]["id"] == agent.pk

    # The agent reads the customer's message: the customer's tick turns to "read".
    await cons.send_json_to(
        {"type": "receipt", "conversation": conversation["id"], "read_seq": accepted["seq"]}
    )
    receipt = await recv(cust, "receipt.updated")
    assert receipt["role"] == "agent" and receipt["read_seq"] == accepted["seq"]

    await cons.send_json_to(
        {"type": "typing", "conversation": conversation["id"], "state": "start"}
    )
    typing = await recv(cust, "typing")
    assert typing["role"] == "agent" and typing["state"] == "start"

    reply = await send(cons, conversation["id"], "Je regarde !", "a-1")
    got = await recv(cust, "message.new")
    while got["message"]["kind"] == "event":  # "Alice joined" comes first
        got = await recv(cust, "message.new")
    assert got["message"]["body"] == "Je regarde !" and got["message"]["seq"] == reply["seq"]
    assert got["message"]["sender"]["role"] == "agent"

    await cust.send_json_to(
        {
            "type": "receipt",
            "conversation": conversation["id"],
            "delivered_seq": reply["seq"],
            "read_seq": reply["seq"],
        }
    )
    receipt = await recv(cons, "receipt.updated")
    while receipt["role"] != "customer":
        receipt = await recv(cons, "receipt.updated")
    assert receipt["read_seq"] == receipt["delivered_seq"] == reply["seq"]

    await cons.send_json_to(
        {"type": "conversation.resolve", "id": "x", "conversation": conversation["id"]}
    )
    assert (await recv(cons, "ack"))["for"] == "conversation.resolve"
    closed = await recv(cust, "conversation.updated")
    assert closed["conversation"]["status"] == "resolved"
    await cust.disconnect()
    await cons.disconnect()


async def test_duplicate_send_returns_same_seq_and_notifies_once():
    customer = await new_customer()
    agent = await new_agent()
    cust, _ = await widget(customer)
    conversation = await start(cust)
    cons, _ = await console(agent)
    await take(cons, conversation["id"])

    first = await send(cust, conversation["id"], "hello", "dup-1", ref=1)
    second = await send(cust, conversation["id"], "hello", "dup-1", ref=2)
    assert first["seq"] == second["seq"] and second["duplicate"] and second["ref"] == 2
    count = await database_sync_to_async(Message.objects.filter(client_msg_id="dup-1").count)()
    assert count == 1
    seen = []
    while not await no_frame(cons):
        frame = await cons.receive_json_from()
        if frame["type"] == "message.new" and frame["message"]["client_msg_id"] == "dup-1":
            seen.append(frame["message"]["seq"])
    assert seen == [first["seq"]]
    await cust.disconnect()
    await cons.disconnect()


async def test_two_tabs_of_one_customer_see_everything():
    customer = await new_customer()
    tab1, _ = await widget(customer)
    conversation = await start(tab1)
    tab2, hello2 = await widget(customer)
    assert [c["id"] for c in hello2["conversations"]] == [conversation["id"]]
    # A second start from the other tab is the same conversation.
    again = await start(tab2)
    assert again["id"] == conversation["id"]

    accepted = await send(tab1, conversation["id"], "from tab 1", "t1-1")
    echo = await recv(tab2, "message.new")
    assert echo["message"]["seq"] == accepted["seq"] and echo["message"]["client_msg_id"] == "t1-1"
    # The sending tab gets message.new too, and matches it to its outbox by client_msg_id.
    own = await recv(tab1, "message.new")
    assert own["message"]["client_msg_id"] == "t1-1"
    await tab1.disconnect()
    await tab2.disconnect()


@database_sync_to_async
def _assigned_conversation(customer, agent) -> int:
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    return conversation.pk


@database_sync_to_async
def _store_without_publishing(conversation_id: int, body: str) -> int:
    """A message whose live event was lost (as when a channel layer drops it)."""
    conversation = Conversation.objects.get(pk=conversation_id)
    sender = Participant.objects.get(conversation=conversation, role="agent")
    seq = conversation.last_seq + 1
    Message.objects.create(conversation=conversation, seq=seq, sender=sender, body=body)
    Conversation.objects.filter(pk=conversation_id).update(last_seq=seq)
    return seq


async def test_resume_fills_a_gap_left_by_a_lost_event_in_order_without_duplicates():
    customer = await new_customer()
    agent = await new_agent()
    conversation_id = await _assigned_conversation(customer, agent)
    cust, hello = await widget(customer)
    held = hello["conversations"][0]["last_seq"]
    cons, _ = await console(agent)

    lost = await _store_without_publishing(conversation_id, "this event was dropped")
    visible = await send(cons, conversation_id, "this one arrives", "a-2")
    got = await recv(cust, "message.new")
    assert got["message"]["seq"] == visible["seq"] == lost + 1  # the client sees the gap

    await cust.send_json_to(
        {"type": "resume", "id": "r", "conversation": conversation_id, "after_seq": held}
    )
    batch = await recv(cust, "messages.batch")
    seqs = [m["seq"] for m in batch["messages"]]
    assert seqs == list(range(held + 1, visible["seq"] + 1))
    assert "this event was dropped" in [m["body"] for m in batch["messages"]]
    assert batch["has_more"] is False and batch["ref"] == "r"
    await cust.disconnect()
    await cons.disconnect()


async def test_reconnect_resumes_what_was_missed_while_away(settings):
    settings.PARLEY = {**settings.PARLEY, "RESUME_PAGE_SIZE": 2}
    customer = await new_customer()
    agent = await new_agent()
    conversation_id = await _assigned_conversation(customer, agent)
    cust, hello = await widget(customer)
    held = hello["conversations"][0]["last_seq"]
    await cust.disconnect()

    cons, _ = await console(agent)
    for i in range(5):
        await send(cons, conversation_id, f"while away {i}", f"away-{i}")

    cust, hello = await widget(customer)
    top = hello["conversations"][0]["last_seq"]
    assert top == held + 5
    received, after = [], held
    while True:  # page through with has_more
        await cust.send_json_to(
            {"type": "resume", "conversation": conversation_id, "after_seq": after}
        )
        batch = await recv(cust, "messages.batch")
        received += [m["seq"] for m in batch["messages"]]
        after = received[-1]
        if not batch["has_more"]:
            break
    assert received == list(range(held + 1, top + 1))
    await cust.disconnect()
    await cons.disconnect()


# --- bad input: an error frame, and the socket stays open ------------------------------------
BAD_FRAMES = [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_frame"),
    ('{"no": "type"}', "bad_frame"),
    ('{"type": 5}', "bad_frame"),
    ('{"type": "launch.rockets"}', "unknown_type"),
    ('{"type": "conversation.take", "conversation": 1}', "unknown_type"),  # console-only
    ('{"type": "message.send", "body": "hi", "client_msg_id": "a"}', "invalid_field"),
    (
        '{"type": "message.send", "conversation": "1", "body": "hi", "client_msg_id": "a"}',
        "invalid_field",
    ),
    ('{"type": "resume", "conversation": 1, "after_seq": -1}', "invalid_field"),
    ('{"type": "receipt", "conversation": 1}', "invalid_field"),
    ('{"type": "receipt", "conversation": 999999, "read_seq": 1}', "not_found"),
    ('{"type": "typing", "conversation": true, "state": "start"}', "invalid_field"),
]


async def test_a_frame_whose_id_is_not_a_string_or_integer_is_refused_not_run():
    """Run, its reply could not be matched (ref null): the client would wait on it."""
    comm, _ = await widget(await new_customer())
    for bad in ({"a": 1}, 1.5, True, [1], None):
        await comm.send_json_to({"type": "ping", "id": bad, "t": 1})
        frame = await recv(comm, "error", "pong")
        assert frame == {"type": "error", "code": "invalid_field", "field": "id",
                         "message": frame["message"]}, bad  # no ref: it could not be echoed  # fmt: skip
    await comm.send_json_to({"type": "ping", "id": "ok", "t": 1})
    assert (await recv(comm, "pong"))["ref"] == "ok"
    await comm.disconnect()


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/", "/ws/widget/extra/", "/anything"])
async def test_a_socket_to_an_unknown_path_is_refused_at_the_handshake(path):
    comm = WebsocketCommunicator(application, path)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected is False
    await comm.disconnect()


async def test_bad_frames_get_error_frames_and_the_socket_survives():
    customer = await new_customer()
    comm, _ = await widget(customer)
    for text, code in BAD_FRAMES:
        await comm.send_to(text_data=text)
        frame = await recv(comm, "error")
        assert frame["code"] == code, text
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await recv(comm, "error"))["code"] == "bad_frame"
    await comm.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 20000}))
    assert (await recv(comm, "error"))["code"] == "too_large"
    # Still alive, and the error carries the request id.
    await comm.send_json_to({"type": "ping", "id": 7, "t": 123})
    pong = await recv(comm, "pong")
    assert pong["ref"] == 7 and pong["t"] == 123
    await comm.disconnect()


async def test_message_field_errors_lose_nothing_and_name_the_field():
    customer = await new_customer()
    comm, _ = await widget(customer)
    conversation = await start(comm)
    for body, cid, field, code in [
        ("", "e1", "body", "invalid_field"),
        (42, "e2", "body", "invalid_field"),
        ("x" * 4001, "e3", "body", "too_large"),
        ("ok", "bad id!", "client_msg_id", "invalid_field"),
    ]:
        error = await send(comm, conversation["id"], body, cid, ref=cid)
        assert (error["type"], error["code"], error["field"], error["ref"]) == (
            "error",
            code,
            field,
            cid,
        )
    accepted = await send(comm, conversation["id"], "now fine", "e1")
    assert accepted["type"] == "message.accepted"
    await comm.disconnect()


async def test_no_access_to_other_peoples_conversations():
    owner = await new_customer()
    intruder = await new_customer()
    agent = await new_agent()
    bystander = await new_agent()
    conversation_id = await _assigned_conversation(owner, agent)

    comm, _ = await widget(intruder)
    for frame in [
        {
            "type": "message.send",
            "conversation": conversation_id,
            "body": "hi",
            "client_msg_id": "x",
        },
        {"type": "resume", "conversation": conversation_id, "after_seq": 0},
        {"type": "typing", "conversation": conversation_id, "state": "start"},
        {"type": "receipt", "conversation": conversation_id, "read_seq": 1},
    ]:
        await comm.send_json_to(frame)
        assert (await recv(comm, "error"))["code"] == "not_found", frame["type"]
    await comm.disconnect()

    cons, _ = await console(bystander)
    await cons.send_json_to(
        {
            "type": "message.send",
            "conversation": conversation_id,
            "body": "hi",
            "client_msg_id": "x",
        }
    )
    assert (await recv(cons, "error"))["code"] == "not_found"
    await cons.disconnect()
    count = await database_sync_to_async(Message.objects.filter(client_msg_id="x").count)()
    assert count == 0


async def test_agent_who_is_not_a_participant_cannot_write_into_a_waiting_conversation():
    customer = await new_customer()
    cust, _ = await widget(customer)
    conversation = await start(cust)
    cons, _ = await console(await new_agent())
    error = await send(cons, conversation["id"], "hi", "x1")
    assert error["code"] == "forbidden"
    await cust.disconnect()
    await cons.disconnect()


async def test_losing_agent_gets_already_taken():
    customer = await new_customer()
    cust, _ = await widget(customer)
    conversation = await start(cust)
    a, _ = await console(await new_agent())
    b, _ = await console(await new_agent())
    assert (await take(a, conversation["id"]))["type"] == "ack"
    error = await take(b, conversation["id"])
    assert error["type"] == "error" and error["code"] == "already_taken"
    for comm in (a, b, cust):
        await comm.disconnect()


async def test_flood_gets_rate_limited_then_closed(settings):
    settings.PARLEY = {
        **settings.PARLEY,
        # One token per 100 s: no refill during the test, however slow the machine.
        "WS_RATE_PER_SECOND": 0.01,
        "WS_RATE_BURST": 3,
        "WS_FLOOD_CLOSE_AFTER": 5,
    }
    customer = await new_customer()
    comm, _ = await widget(customer)
    for _ in range(3):
        await comm.send_json_to({"type": "ping"})
        assert (await recv(comm))["type"] == "pong"
    await comm.send_json_to({"type": "ping", "id": "p4"})
    limited = await recv(comm)
    assert (limited["code"], limited["ref"]) == ("rate_limited", "p4")  # which one to resend
    for _ in range(4):
        await comm.send_json_to({"type": "ping"})
    closing, limited_after = None, 0
    for _ in range(10):
        out = await comm.receive_output(timeout=TIMEOUT)
        if out["type"] == "websocket.close":
            closing = out
            break
        limited_after += json.loads(out["text"])["code"] == "rate_limited"
    assert closing == {"type": "websocket.close", "code": 4429}
    assert 1 + limited_after == 5  # WS_FLOOD_CLOSE_AFTER refusals, each told, then the close


async def test_agent_hello_has_the_waiting_room_and_own_chats():
    c1, c2 = await new_customer(), await new_customer()
    agent = await new_agent()
    mine = await _assigned_conversation(c1, agent)
    w, _ = await widget(c2)
    waiting = await start(w)
    cons, hello = await console(agent)
    assert hello["role"] == "agent"
    by_id = {c["id"]: c for c in hello["conversations"]}
    assert by_id[mine]["status"] == "assigned" and by_id[waiting["id"]]["status"] == "queued"
    await cons.disconnect()
    await w.disconnect()


async def test_broadcast_frames_do_not_queue_on_the_database_thread(monkeypatch):
    """A frame from the channel layer goes straight to the socket: Channels' default
    dispatch first hops onto the database thread (to close stale connections) for every
    event, and with many consoles in the lobby those hops queued every socket's and the
    router's database work behind them. Database calls close stale connections themselves,
    on their own thread (database_sync_to_async)."""
    import channels.consumer
    from channels.layers import get_channel_layer

    from chat import realtime

    agent = await database_sync_to_async(make_agent)()
    comm, _ = await console(agent)
    hops = []

    async def hop():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", hop)
    layer = get_channel_layer()
    for n in range(20):
        await layer.group_send(
            recipients.user_group(agent.pk),
            {"type": realtime.EVENT_HANDLER, "frame": {"type": "test.frame", "n": n}},
        )
    received = [(await recv(comm, "test.frame"))["n"] for _ in range(20)]
    assert received == list(range(20))
    # Frames from the socket too: a bad one and one that reads the database.
    await comm.send_json_to({"type": "resume", "id": "r", "conversation": 999999, "after_seq": 0})
    assert (await recv(comm, "error"))["code"] == "not_found"
    assert hops == []
    await comm.disconnect()


async def test_pong_carries_last_seq_of_the_sockets_open_conversations():
    # A client that missed the last message.new of a quiet conversation (pushes are
    # hints) learns the conversation's top from its next pong and resumes.
    customer = await new_customer()
    agent = await new_agent()
    other = await new_customer(site=await database_sync_to_async(lambda: customer.site)())
    cust, _ = await widget(customer)
    conversation = await start(cust)
    other_comm, _ = await widget(other)
    other_conversation = await start(other_comm)
    cons, _ = await console(agent)
    assert (await take(cons, conversation["id"]))["type"] == "ack"
    await send(cust, conversation["id"], "Hello?", "c1")
    reply = await send(cons, conversation["id"], "Here!", "a1")

    await cust.send_json_to({"type": "ping", "id": 1})
    tops = (await recv(cust, "pong"))["last_seq"]
    assert tops == {str(conversation["id"]): reply["seq"]}  # not the other customer's
    await cons.send_json_to({"type": "ping", "id": 2})
    tops = (await recv(cons, "pong"))["last_seq"]
    assert tops == {str(conversation["id"]): reply["seq"]}  # not the lobby's
    assert str(other_conversation["id"]) not in tops

    # Resolved conversations drop out: nothing more can arrive there.
    await database_sync_to_async(conversation_actions.conversation_resolve)(
        actor=await database_sync_to_async(agent_actor)(agent),
        conversation_id=conversation["id"],
    )
    await cust.send_json_to({"type": "ping", "id": 3})
    assert (await recv(cust, "pong"))["last_seq"] == {}
    for comm in (cust, other_comm, cons):
        await comm.disconnect()


async def test_an_idle_widgets_ping_writes_nothing_and_its_sign_of_life_is_stored_in_batches():
    from chat.models import Customer
    from chat.services import seen

    customer = await new_customer()
    await database_sync_to_async(seen.customer_seen_flush)()
    await database_sync_to_async(Customer.objects.filter(pk=customer.pk).update)(last_seen_at=None)
    cust, hello = await widget(customer)
    assert hello["conversations"] == []
    await cust.send_json_to({"type": "ping", "id": 1})
    assert (await recv(cust, "pong"))["last_seq"] == {}
    stored = await database_sync_to_async(
        lambda: Customer.objects.values_list("last_seen_at", flat=True).get(pk=customer.pk)
    )()
    assert stored is None  # noted in memory only: the ping made no write
    assert await database_sync_to_async(seen.customer_seen_flush)() >= 1
    stored = await database_sync_to_async(
        lambda: Customer.objects.values_list("last_seen_at", flat=True).get(pk=customer.pk)
    )()
    assert stored is not None
    await cust.disconnect()


async def test_conversation_start_checks_its_fields_even_when_one_is_open():
    customer = await database_sync_to_async(make_customer)()
    comm, _ = await widget(customer)
    cases = [
        ({"subject": [1, 2]}, "subject"),
        ({"subject": True}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"language": 5}, "language"),
        ({"language": "en\n"}, "language"),  # `$` matches before a final newline
        ({"page_url": "https://a.example/\n"}, "page_url"),
    ]
    for opened in (False, True):  # before and after the customer has a conversation
        for fields, field in cases:
            await comm.send_json_to({"type": "conversation.start", "id": "s", **fields})
            error = await recv(comm, "error", "conversation.started")
            assert (error["type"], error.get("field")) == ("error", field), (fields, error)
            assert error["code"] == "invalid_field"
        if not opened:
            conversation = await start(comm)
    await comm.send_json_to({"type": "conversation.start", "id": "s", "subject": " Order 7 "})
    again = (await recv(comm, "conversation.started"))["conversation"]
    assert again["id"] == conversation["id"]
    for cmid in ("abc\n", "a" * 64 + "\n"):
        refused = await send(comm, conversation["id"], "hi", cmid)
        assert (refused["type"], refused.get("field")) == ("error", "client_msg_id"), refused
    await comm.disconnect()


async def test_an_integer_too_long_for_python_is_out_of_range_not_bad_json():
    customer = await database_sync_to_async(make_customer)()
    comm, _ = await widget(customer)
    for digits in (4000, 5000, 10_000):  # Python reads at most 4,300 digits
        await comm.send_to(text_data='{"type": "ping", "id": "p", "t": ' + "9" * digits + "}")
        error = await recv(comm, "error", "pong")
        assert (error["type"], error["code"], error.get("field")) == ("error", "invalid_field", "t")
    await comm.send_json_to({"type": "ping", "id": "p", "t": 12})
    assert (await recv(comm, "pong"))["t"] == 12
    await comm.disconnect()
