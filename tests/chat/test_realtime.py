"""The publisher used outside the ASGI server (Celery workers, sweepers, routing workers):
frames leave in publish order, and the caller never waits for the channel layer."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
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
                realtime.publish_on_commit(
                    ["test.order"], {"type": "agent.presence", "presence": n}
                )
            else:
                realtime.publish_many_on_commit(
                    [(["test.order"], {"type": "agent.presence", "presence": n})]
                )

    got = subscribed("test.order", 40, publish)
    assert [frame["presence"] for frame in got] == list(range(40))


def test_a_batch_reaches_every_group_once_in_order(transactional_db):
    """One pipelined send: each frame to each of its groups, nothing twice."""

    async def run():
        layer = get_channel_layer()
        a, b = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("test.a", a)
        await layer.group_add("test.b", b)

        def publish():
            realtime.publish_many_on_commit(
                [
                    (["test.a", "test.b"], {"type": "agent.presence", "presence": 1}),
                    (["test.b"], {"type": "agent.presence", "presence": 2}),
                    (["test.a"], {"type": "agent.presence", "presence": 3}),
                ]
            )

        try:
            await asyncio.get_running_loop().run_in_executor(None, in_thread, publish)
            got_a = [
                (await asyncio.wait_for(layer.receive(a), 5))["frame"]["presence"] for _ in "12"
            ]
            got_b = [
                (await asyncio.wait_for(layer.receive(b), 5))["frame"]["presence"] for _ in "12"
            ]
            with contextlib.suppress(TimeoutError):
                extra = await asyncio.wait_for(layer.receive(a), 0.3)
                raise AssertionError(f"sent twice: {extra}")
            return got_a, got_b
        finally:
            await layer.group_discard("test.a", a)
            await layer.group_discard("test.b", b)

    assert async_to_sync(run)() == ([1, 3], [1, 2])


@pytest.mark.redis
def test_a_frame_the_layer_cannot_encode_does_not_take_its_batch_down(transactional_db, caplog):
    """msgpack carries 64-bit integers at most: a frame with a bigger one failed the whole
    pipelined batch it sat in. Now it alone is dropped, and logged."""

    def publish():
        realtime.publish_many_on_commit(
            [(["test.bad"], {"type": "agent.presence", "presence": n}) for n in (1, 2**70, 3)]
        )
        assert realtime.flush()

    got = subscribed("test.bad", 2, publish)
    assert [frame["presence"] for frame in got] == [1, 3]
    assert "cannot be encoded" in caplog.text


@pytest.mark.redis
def test_a_stalled_redis_does_not_hold_the_publisher(transactional_db):
    """Redis stops taking writes (CLIENT PAUSE): publishing still returns at once, the
    frames wait in the queue, and they arrive in order once Redis takes writes again."""
    admin = redis.Redis.from_url(settings.REDIS_URL)

    def publish():
        try:
            admin.client_pause(10_000, all=False)  # WRITE: PUBLISH blocks, SUBSCRIBE not
            started = time.monotonic()
            realtime.publish_on_commit(["test.stall"], {"type": "agent.presence", "presence": 1})
            realtime.publish_on_commit(["test.stall"], {"type": "agent.presence", "presence": 2})
            # It did not wait out the 10 s pause (a generous bound: not a speed target).
            assert time.monotonic() - started < 5.0
            assert not realtime.flush(timeout=0.3)  # the frames are still queued
        finally:
            admin.client_unpause()
        assert realtime.flush()

    got = subscribed("test.stall", 2, publish)
    assert [frame["presence"] for frame in got] == [1, 2]


def test_a_frame_the_registry_does_not_declare_is_refused_where_it_is_built():
    from chat.events import UndeclaredFrame

    with pytest.raises(UndeclaredFrame, match=r"not in chat\.events"):
        realtime.publish_on_commit(["test.x"], {"type": "made.up", "n": 1})
    with pytest.raises(UndeclaredFrame, match=r"undeclared fields \['extra'\]"):
        realtime.publish_ephemeral(
            ["test.x"], {"type": "agent.presence", "presence": 1, "extra": 2}
        )
    with pytest.raises(UndeclaredFrame, match=r"missing fields \['message'\]"):
        realtime.publish_on_commit(["test.x"], {"type": "message.new"})


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_a_stalled_redis_holds_a_sockets_commit_only_briefly(monkeypatch, caplog):
    """Inside the ASGI server a socket's database thread waits for its frames' publish at
    commit: a Redis that accepts connections and never answers held it for the layer's
    socket timeout (60 s), with every send behind it (a fault probe). Now each waits
    PUBLISH_TIMEOUT at most."""
    from asgiref.sync import sync_to_async
    from channels_redis.pubsub import RedisPubSubChannelLayer

    if not isinstance(get_channel_layer(), RedisPubSubChannelLayer):
        pytest.skip("the Redis pub/sub layer only")
    monkeypatch.setattr(realtime, "PUBLISH_TIMEOUT", 0.5)
    admin = redis.Redis.from_url(settings.REDIS_URL)

    def publish() -> float:
        started = time.monotonic()
        realtime.publish_on_commit(["test.asgi-stall"], {"type": "agent.presence", "presence": 1})
        return time.monotonic() - started

    await get_channel_layer().group_send("test.asgi-warm", {"type": "x"})  # connected first
    admin.client_pause(10_000, all=False)  # WRITE: PUBLISH blocks
    try:
        first = await sync_to_async(publish, thread_sensitive=False)()
        second = await sync_to_async(publish, thread_sensitive=False)()
    finally:
        admin.client_unpause()
    # Generous bounds (not speed targets): the 10 s pause was not waited out.
    assert first < 5.0 and second < 5.0, (first, second)
    assert "Redis is stalled" in caplog.text
