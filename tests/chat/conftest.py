from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat import realtime


class LayerRecorder:
    """Subscribes channels to groups on Channels' in-memory layer and drains what services
    published there, so service tests see the exact frames without a socket."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.channels: dict[str, str] = {}

    def listen(self, *groups: str) -> None:
        # Frames published before listening (the set-up's own) leave asynchronously: let
        # them go first, or a slow run hears them as the test's.
        realtime.flush()
        for group in groups:
            channel = async_to_sync(self.layer.new_channel)()
            async_to_sync(self.layer.group_add)(group, channel)
            self.channels[group] = channel

    def frames(self, group: str) -> list[dict]:
        realtime.flush()  # frames published from this (plain) thread leave asynchronously

        async def drain():
            out = []
            while True:
                try:
                    out.append(
                        await asyncio.wait_for(self.layer.receive(self.channels[group]), 0.02)
                    )
                except TimeoutError:
                    return out

        return [m["frame"] for m in async_to_sync(drain)()]

    def types(self, group: str) -> list[str]:
        return [f["type"] for f in self.frames(group)]


@pytest.fixture
def published(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return LayerRecorder(get_channel_layer())
