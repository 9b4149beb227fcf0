"""A socket's inbox and its channel's queue (chat.inbox, chat.push.SocketQueue): frames in
order, pushes held behind the reply being made, and nothing kept while the socket idles."""

from __future__ import annotations

import asyncio

import pytest

from chat.inbox import Inbox
from chat.push import SocketQueue


class Recorder:
    def __init__(self) -> None:
        self.seen: list = []
        self.gate: asyncio.Event | None = None
        self.inbox = Inbox(self.handle, self.push, size=3)

    async def handle(self, text: str) -> None:
        self.seen.append(("frame", text))
        if self.gate is not None:
            await self.gate.wait()
        if text == "boom":
            raise RuntimeError("a handler's own failure")

    async def push(self, frame: dict) -> None:
        self.seen.append(("push", frame["n"]))


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_frames_are_handled_in_order_and_nothing_is_kept_once_idle():
    r = Recorder()
    for text in ("a", "b", "boom", "c"):
        r.inbox.put(text)
    await settle()
    assert r.seen == [("frame", "a"), ("frame", "b"), ("frame", "boom"), ("frame", "c")]
    assert r.inbox.task is None and r.inbox.frames is None and r.inbox.held is None
    r.inbox.put("d")  # the next frame starts a task of its own
    await settle()
    assert r.seen[-1] == ("frame", "d") and r.inbox.task is None


async def test_a_push_waits_for_the_reply_being_made_and_a_frame_put_meanwhile_follows():
    r = Recorder()
    r.gate = asyncio.Event()
    r.inbox.put("a")
    await settle()
    await r.inbox.deliver({"n": 1})  # held: "a" is being handled
    r.inbox.put("b")
    assert r.seen == [("frame", "a")]
    r.gate.set()
    await settle()
    assert r.seen == [("frame", "a"), ("push", 1), ("frame", "b")]
    await r.inbox.deliver({"n": 2})  # nothing being handled: at once
    assert r.seen[-1] == ("push", 2)


async def test_the_inbox_is_bounded_and_close_drops_what_waits():
    r = Recorder()
    r.gate = asyncio.Event()
    for text in ("a", "b", "c", "d"):
        r.inbox.put(text)
    await settle()  # "a" is being handled, three wait
    assert r.inbox.full()
    task = r.inbox.task
    r.inbox.close()
    await settle()
    assert task.cancelled() and not r.inbox.full() and r.seen == [("frame", "a")]


async def test_a_paused_inbox_handles_nothing_until_the_pause_ends():
    r = Recorder()
    r.inbox.pause(0.05)
    r.inbox.put("a")
    await settle()
    assert r.seen == []
    await asyncio.sleep(0.1)
    assert r.seen == [("frame", "a")]


async def test_the_socket_queue_hands_over_in_order_and_holds_nothing_when_empty():
    q = SocketQueue()
    assert q.items is None and q.qsize() == 0
    getter = asyncio.ensure_future(q.get())
    await settle()
    assert not getter.done()
    q.put_nowait("one")
    q.put_nowait("two")
    assert await getter == "one"
    assert q.qsize() == 1 and await q.get() == "two"
    assert q.items is None and q.waiter is None


async def test_a_cancelled_read_leaves_the_queue_usable():
    q = SocketQueue()
    getter = asyncio.ensure_future(q.get())
    await settle()
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert q.waiter is None
    q.put_nowait("later")
    assert await asyncio.wait_for(q.get(), 1) == "later"
