"""A socket leaving the channel layer: its groups and its own channel, all of it or none
cut short.

With RedisPubSubChannelLayer every group and every consumer channel is a Redis
subscription, and the layer sends every SUBSCRIBE, UNSUBSCRIBE and PUBLISH of a process
through one connection under one lock. When thousands of sockets close at once their
unsubscribes queue behind each other for seconds; the consumer's own channel is only
unsubscribed when its receive task is cancelled, last, and daphne kills a handler that has
not finished within its close timeout. Measured with 10,000 idle widgets
(bench/idle_sockets.py): 10,184 channel subscriptions were still there minutes after the
last close. So the socket unsubscribes everything itself, shielded from that kill: the
work finishes in the background even when the handler is cancelled.
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


async def layer_leave(layer, channel_name: str, groups: list[str]) -> None:
    """Discard ``groups`` and drop ``channel_name``'s own subscription; never raises."""
    await asyncio.shield(_leave(layer, channel_name, list(groups)))


async def _leave(layer, channel_name: str, groups: list[str]) -> None:
    for group in groups:
        try:
            await layer.group_discard(group, channel_name)
        except Exception:  # group expiry (the core layer) or a restart cleans up
            logger.warning("group_discard %s failed", group, exc_info=True)
    # channels_redis 4.3's pub/sub layer (pinned): the per-loop layer keeps the channel's
    # queue in `channels` and unsubscribes when its receive is cancelled, if the channel is
    # still there. Taking it out here and unsubscribing now makes that a no-op.
    get_layer = getattr(layer, "_get_layer", None)
    if get_layer is None:
        return
    try:
        loop_layer = get_layer()
        if loop_layer.channels.pop(channel_name, None) is not None:
            await loop_layer._get_shard(channel_name).unsubscribe(channel_name)
    except Exception:
        logger.warning("unsubscribing %s failed", channel_name, exc_info=True)
