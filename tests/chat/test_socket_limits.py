"""The socket's limits: rate limits charged as frames arrive, a bounded queue per socket,
and input that cannot be parsed, stored or pushed refused with an error on an open socket.

The flood tests hold the database threads (every socket's database work runs on them) while
the frames arrive, as a busy server does: whatever is charged only when handled is never
charged while it is held. Their frames are `resume`s, which always need the database
(a ping may be answered from memory); a flood's resume a conversation that does not
exist (answered `not_found`), the quiet socket's its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat import dbcalls
from tests.chat.test_consumers import (
    TIMEOUT,
    new_customer,
    no_frame,
    recv,
    send,
    start,
    widget,
)

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.asynccontextmanager
async def database_thread_held():
    """Every thread that runs sockets' database work (chat.dbcalls) is busy."""
    gate = threading.Event()
    if settings.PARLEY["DB_THREADS"] <= 1:  # Channels' own thread-sensitive thread
        held = [asyncio.ensure_future(sync_to_async(gate.wait, thread_sensitive=True)())]
    else:
        pool = dbcalls._pool()
        held = [
            asyncio.wrap_future(pool.submit(gate.wait, TIMEOUT * 10))
            for _ in range(pool._max_workers)
        ]
    try:
        yield
    finally:
        gate.set()
        await asyncio.gather(*held)


MISSING = 10**9  # no such conversation


def resume(ref, conversation_id: int = MISSING) -> dict:
    return {"type": "resume", "id": ref, "conversation": conversation_id, "after_seq": 0}


async def quiet_socket():
    comm, _ = await widget(await new_customer())
    return comm, (await start(comm))["id"]


async def frames_until_close(comm) -> tuple[list[dict], int | None]:
    frames = []
    while True:
        out = await comm.receive_output(timeout=TIMEOUT)
        if out["type"] == "websocket.close":
            return frames, out.get("code")
        frames.append(json.loads(out["text"]))


async def test_twenty_floods_are_limited_as_they_arrive_and_a_quiet_socket_is_answered(settings):
    settings.PARLEY = {
        **settings.PARLEY,
        "WS_RATE_PER_SECOND": 0.01,  # no refill during the test, however slow the machine
        "WS_RATE_BURST": 30,
        "WS_FLOOD_CLOSE_AFTER": 100,
        "WS_QUEUE_FRAMES": 30,
    }
    quiet, conversation = await quiet_socket()
    floods = [(await widget(await new_customer()))[0] for _ in range(20)]
    async with database_thread_held():
        for comm in floods:
            for n in range(200):
                await comm.send_json_to(resume(n))
        # Charged on arrival: 30 frames take the burst, the next 100 are refused, each told
        # so, and the 100th refusal closes the socket; all while no frame could be handled.
        for comm in floods:
            frames, code = await frames_until_close(comm)
            assert code == 4429
            assert [f["code"] for f in frames] == ["rate_limited"] * 100
            assert [f["ref"] for f in frames] == list(range(30, 130))
        await quiet.send_json_to(resume("q", conversation))
    # The floods' queued frames were dropped with their sockets: the quiet frame waits
    # for at most the one frame each flood had in hand, and is never limited.
    answer = await recv(quiet, "messages.batch", "error")
    assert (answer["type"], answer["ref"]) == ("messages.batch", "q")
    for comm in [quiet, *floods]:
        await comm.disconnect()


async def test_a_refused_socket_keeps_its_queue_off_the_database_until_it_refills(settings):
    """Over its rate, a socket's waiting frames wait until its bucket is full again (2.5 s
    here) instead of taking the database thread from other sockets; then they are
    handled, in order, none lost."""
    settings.PARLEY = {**settings.PARLEY, "WS_RATE_PER_SECOND": 2.0, "WS_RATE_BURST": 5}
    noisy, _ = await widget(await new_customer())
    quiet, conversation = await quiet_socket()
    async with database_thread_held():
        for n in range(8):
            await noisy.send_json_to(resume(n))
        refused = [(await recv(noisy, "error")) for _ in range(3)]
        await quiet.send_json_to(resume("q", conversation))
    assert [(f["code"], f["ref"]) for f in refused] == [("rate_limited", n) for n in (5, 6, 7)]
    assert (await recv(quiet, "messages.batch"))["ref"] == "q"

    async def answered() -> dict:
        error = await recv(noisy, "error")
        assert error["code"] == "not_found"
        return error["ref"]

    now = []  # the frame it had in hand, if its task had taken one when it was refused
    while not await no_frame(noisy):
        now.append(await answered())
    assert now in ([], [0])  # the rest wait for the bucket to refill
    later = [await answered() for _ in range(5 - len(now))]
    assert now + later == [0, 1, 2, 3, 4]
    for comm in (noisy, quiet):
        await comm.disconnect()


async def test_a_flood_that_refills_a_token_now_and_then_is_still_closed(settings):
    """Counted "in a row", refusals started again at every frame a trickle of refills let
    through, so a flood arriving over time was never closed. They now count until the
    client keeps within its rate long enough to refill the whole burst (5 s here)."""
    settings.PARLEY = {
        **settings.PARLEY,
        "WS_RATE_PER_SECOND": 10.0,
        "WS_RATE_BURST": 50,
        "WS_QUEUE_FRAMES": 100,
        "WS_FLOOD_CLOSE_AFTER": 20,
    }
    comm, _ = await widget(await new_customer())
    for _ in range(50):  # no database work: each gets unknown_type
        await comm.send_json_to({"type": "nothing"})
    assert [(await recv(comm, "error"))["code"] for _ in range(50)] == ["unknown_type"] * 50
    for _ in range(15):
        await comm.send_json_to({"type": "nothing"})
    # Each of the 15 gets one answer: unknown_type if a token had come back meanwhile (how
    # many depends on the machine's speed), else rate_limited.
    answers = [(await recv(comm, "error"))["code"] for _ in range(15)]
    refused = answers.count("rate_limited")
    assert refused >= 5 and set(answers) <= {"rate_limited", "unknown_type"}
    await asyncio.sleep(0.3)  # about three tokens back, far from a full bucket
    for _ in range(20):
        await comm.send_json_to({"type": "nothing"})
    frames, code = await frames_until_close(comm)
    # Some of the 20 take the refilled tokens; the refusals reach 20 all the same.
    assert code == 4429
    # Each refused frame is told so, the one that reaches the count too (docs/protocol.md).
    assert refused + [f.get("code") for f in frames].count("rate_limited") == 20
    await comm.disconnect()


async def test_a_socket_queues_a_bounded_number_of_frames_and_handles_them_in_order(settings):
    settings.PARLEY = {
        **settings.PARLEY,
        "WS_RATE_PER_SECOND": 1000.0,
        "WS_RATE_BURST": 1000,
        "WS_FLOOD_CLOSE_AFTER": 1000,
        "WS_QUEUE_FRAMES": 5,
    }
    comm, _ = await widget(await new_customer())
    async with database_thread_held():
        for n in range(20):
            await comm.send_json_to(resume(n))
        refused = [(await recv(comm, "error")) for _ in range(14)]
    # One frame in hand (or not yet) and five waiting; the rest refused, to be sent again.
    assert {f["code"] for f in refused} == {"rate_limited"}
    first_refused = refused[0]["ref"]
    assert first_refused in (5, 6)  # 6 when the socket's task had taken frame 0 already
    rest = [await recv(comm, "error") for _ in range(6)]
    by_code = {
        code: [f["ref"] for f in refused + rest if f["code"] == code]
        for code in ("rate_limited", "not_found")
    }
    assert by_code == {
        "rate_limited": list(range(first_refused, 20)),
        "not_found": list(range(first_refused)),  # handled, in order
    }
    await comm.send_json_to(resume("after"))
    assert (await recv(comm, "error"))["ref"] == "after"
    await comm.disconnect()


async def test_frames_that_cannot_be_parsed_stored_or_pushed_get_errors_on_an_open_socket():
    comm, _ = await widget(await new_customer())
    conversation = await start(comm)
    # 10 KB nested 5,000 deep: past the recursion limit (it closed the socket with 1011).
    await comm.send_to(text_data='{"type":"ping","x":' + "[" * 5000 + "]" * 5000 + "}")
    assert (await recv(comm, "error"))["code"] == "too_deep"
    nested: object = 1
    for _ in range(40):
        nested = {"a": nested}
    await comm.send_json_to({"type": "ping", "id": "deep", "x": nested})
    assert (await recv(comm, "error"))["code"] == "too_deep"
    # NUL and a lone surrogate cannot be stored (they got `internal`, and were retried).
    for body in ["a\x00b", "\ud800"]:
        raw = json.dumps(
            {"type": "message.send", "id": "n", "conversation": conversation["id"],
             "body": body, "client_msg_id": "nul-1"}
        )  # fmt: skip
        await comm.send_to(text_data=raw)
        error = await recv(comm, "error")
        assert (error["code"], error["field"], error["ref"]) == ("invalid_field", "body", "n")
    # An integer past 64 bits cannot be pushed through the channel layer.
    await comm.send_json_to({"type": "resume", "id": "r", "conversation": 2**70, "after_seq": 0})
    error = await recv(comm, "error")
    assert (error["code"], error["field"]) == ("invalid_field", "conversation")
    accepted = await send(comm, conversation["id"], "still here", "nul-1")
    assert accepted["type"] == "message.accepted" and accepted["seq"] >= 1
    await comm.disconnect()
