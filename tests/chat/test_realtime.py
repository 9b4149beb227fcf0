"""The publisher used outside the ASGI server (Celery workers, sweepers, routing workers):
frames leave in publish order, and the caller never waits for the channel layer."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections

from chat import realtime


def in_thread(publish) -> None:
    try:
        publish()
    finally:
        connections.close_all()  # this executor thread's connection, if it opened one


def subscribed(group: str, count: int, publish) -> list[dict]:
    """Subscribe to ``group`` (on this test's loop), run ``publish`` in a plain thread,
    and return the first ``count`` frames received."""

    async def run():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            await asyncio.get_running_loop().run_in_executor(None, in_thread, publish)
            return [
                (await asyncio.wait_for(layer.receive(channel), 5))["frame"] for _ in range(count)
            ]
        finally:
            await layer.group_discard(group, channel)

    return async_to_sync(run)()


def test_frames_from_a_plain_thread_arrive_in_publish_order(transactional_db):
    def publish():
        for n in range(40):
            if n % 2:
                realtime.publish_on_commit(["test.order"], {"type": "t", "n": n})
            else:
                realtime.publish_many_on_commit([(["test.order"], {"type": "t", "n": n})])

    got = subscribed("test.order", 40, publish)
    assert [frame["n"] for frame in got] == list(range(40))


def test_a_stalled_layer_does_not_hold_the_publisher(transactional_db, monkeypatch):
    layer = get_channel_layer()
    release = threading.Event()
    entered = threading.Event()
    original = layer.group_send

    async def stalled(group, message):
        entered.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", stalled)

    def publish():
        realtime.publish_on_commit(["test.stall"], {"type": "t", "n": 1})
        realtime.publish_on_commit(["test.stall"], {"type": "t", "n": 2})
        # Both calls have returned although the layer has not taken the first frame yet.
        assert entered.wait(5)
        assert not realtime.flush(timeout=0.2)
        release.set()
        assert realtime.flush()

    got = subscribed("test.stall", 2, publish)
    assert [frame["n"] for frame in got] == [1, 2]
