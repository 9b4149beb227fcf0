"""A socket in two of a frame's groups hears it once: an agent still in a reopened chat is
a participant and also hears the waiting room (found by the black-box probe)."""

from __future__ import annotations

import pytest

from tests.chat.test_consumers import (
    console,
    new_agent,
    new_customer,
    recv,
    send,
    start,
    take,
    widget,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until_quiet(comm, quiet: float = 1.0) -> list[dict]:
    frames = []
    while not await comm.receive_nothing(timeout=quiet):
        frames.append(await comm.receive_json_from())
    return frames


async def test_a_reopened_chat_s_messages_reach_its_agent_once():
    cust, _ = await widget(await new_customer())
    cons, _ = await console(await new_agent())
    cid = (await start(cust))["id"]
    assert (await send(cust, cid, "first", "c1"))["type"] == "message.accepted"
    assert (await take(cons, cid))["type"] == "ack"
    await cons.send_json_to({"type": "conversation.resolve", "id": "r", "conversation": cid})
    assert (await recv(cons, "ack"))["for"] == "conversation.resolve"
    await frames_until_quiet(cons)

    assert (await send(cust, cid, "hello again", "c2"))["type"] == "message.accepted"
    got = [
        f["message"]["seq"] for f in await frames_until_quiet(cons) if f["type"] == "message.new"
    ]
    assert got and len(got) == len(set(got)), got
    for comm in (cust, cons):
        await comm.disconnect()
