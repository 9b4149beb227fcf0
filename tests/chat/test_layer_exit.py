"""A socket's subscriptions leave with it, even when daphne kills its handler mid-way."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings

from chat.layer_exit import layer_leave

pytestmark = pytest.mark.redis


def _subscribers(*names: str) -> dict[str, int]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return {k.decode(): v for k, v in client.pubsub_numsub(*names)}
    finally:
        client.close()


async def test_a_killed_handler_still_leaves_its_groups_and_its_channel():
    layer = get_channel_layer()
    if not hasattr(layer, "_get_layer"):
        pytest.skip("only the Redis pub/sub layer subscribes per channel")
    name = await layer.new_channel()
    group = "test.exit"
    await layer.group_add(group, name)
    receiving = asyncio.ensure_future(layer.receive(name))  # as a live consumer does
    await asyncio.sleep(0.05)
    group_channel = layer._get_layer()._get_group_channel_name(group)
    assert _subscribers(name, group_channel) == {name: 1, group_channel: 1}

    leaving = asyncio.ensure_future(layer_leave(layer, name, [group]))
    await asyncio.sleep(0)
    leaving.cancel()  # daphne's close timeout
    with contextlib.suppress(asyncio.CancelledError):
        await leaving
    for _ in range(50):  # the shielded work finishes on its own
        if _subscribers(name, group_channel) == {name: 0, group_channel: 0}:
            break
        await asyncio.sleep(0.05)
    # The receive is still pending: the channel left without waiting for its cancel.
    assert not receiving.done()
    assert _subscribers(name, group_channel) == {name: 0, group_channel: 0}
    receiving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await receiving
