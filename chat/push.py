"""A socket's link to the channel layer (Redis), which may be down.

Pushes are hints and the database is the truth (DESIGN.md), so a socket must not fail
because Redis does: Channels' own consumer subscribes its channel before the handshake and
raised (HTTP 500) when Redis was down, and `group_add` did the same. Here:

- the socket's channel and groups are joined if Redis answers; if not, the handshake goes
  on, `hello` says `push: false`, and a task of the socket's own joins again every
  RETRY_SECONDS until it works (then the next `pong` says `push: true`);
- the socket's receive loop never dies of a layer error: it waits and tries again;
- one probe per process (a Redis PING every PROBE_SECONDS) tells whether pushes can flow
  at all, so that sockets that joined before Redis went away also report `push: false`.
  redis-py's pub/sub connection subscribes again to what it had when Redis comes back;
- a Redis that hangs (accepts connections, never answers) is treated as one that is down:
  each subscribe gives up after JOIN_TIMEOUT, well inside the handshake's
  WS_CONNECT_TIMEOUT, where it would otherwise wait for REDIS_SOCKET_TIMEOUT (60 s) and
  the socket would be refused; while the probe says Redis is unreachable no attempt is
  made at all.

Clients poll `resume` while `push` is false (static/parley/client/index.js).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import uuid
import weakref

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from chat import socket_cap

logger = logging.getLogger(__name__)

RETRY_SECONDS = 3.0
PROBE_SECONDS = 2.0
# One subscribe (or group_add) gives up after this long; a healthy one takes a millisecond,
# and a handshake may make two of them (its channel, then its groups) and still be well
# inside WS_CONNECT_TIMEOUT.
JOIN_TIMEOUT = 2.0


class _Probe:
    """Per event loop: is Redis answering? Checked while sockets are open."""

    def __init__(self) -> None:
        self.healthy = True
        self.checked = 0.0
        self.task: asyncio.Task | None = None

    def ensure(self) -> None:
        if settings.CHANNEL_LAYER_BACKEND == "memory":
            return
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(PROBE_SECONDS)

    async def check(self) -> bool:
        try:
            await socket_cap._client().ping()
            healthy = True
        except Exception:
            healthy = False
        if healthy != self.healthy:
            logger.warning("Redis %s: live pushes %s", *(
                ("answers again", "resume") if healthy else ("is unreachable", "stop")
            ))  # fmt: skip
        self.healthy, self.checked = healthy, time.monotonic()
        return healthy


_probes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def probe() -> _Probe:
    loop = asyncio.get_running_loop()
    found = _probes.get(loop)
    if found is None:
        found = _probes[loop] = _Probe()
    return found


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"did not answer within {JOIN_TIMEOUT} s (stalled)"
    return "unreachable"


class SocketQueue:
    """The pub/sub layer's queue for one socket's channel, in place of its asyncio.Queue:
    that layer only calls ``put_nowait`` and ``get`` on it, and a channel has one reader
    (its socket's receive loop). An asyncio.Queue holds four deques from the start (its
    items, getters, putters and the event of ``join``), 1.5 kB for every idle socket; this
    one holds a deque only while a push waits to be read."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: collections.deque | None = None
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, item) -> None:
        if self.items is None:
            self.items = collections.deque()
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self):
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        item = self.items.popleft()
        if not self.items:
            self.items = None
        return item

    def qsize(self) -> int:
        return len(self.items) if self.items else 0


class PushLink:
    """The channel and groups of one socket, joined now or as soon as Redis answers."""

    __slots__ = ("channel_name", "channel_ok", "closed", "groups", "joined", "layer", "retry_task")

    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel_name = ""
        self.groups: list[str] = []  # wanted
        self.joined: list[str] = []  # subscribed
        self.channel_ok = False
        self.retry_task: asyncio.Task | None = None
        self.closed = False

    @property
    def live(self) -> bool:
        """The socket can get pushes now: joined, and its process reaches Redis."""
        return self.channel_ok and len(self.joined) == len(self.groups) and probe().healthy

    async def open_channel(self) -> str:
        """The socket's own channel. On the pub/sub layer its queue is made here and then
        subscribed (what the layer's new_channel does), so that a failed SUBSCRIBE leaves
        a channel this link knows and subscribes later; the other layers touch no Redis."""
        probe().ensure()
        loop_layer = self._loop_layer()
        if loop_layer is None:
            self.channel_name = await self.layer.new_channel()
            self.channel_ok = True
            return self.channel_name
        self.channel_name = f"{loop_layer.prefix}specific.{uuid.uuid4().hex}"
        if not probe().healthy:
            # join() finds the channel missing and starts the retry task.
            return self.channel_name
        try:
            await self._subscribe_channel()
            self.channel_ok = True
        except Exception as exc:
            logger.warning("channel layer %s at connect: no live pushes for now", _why(exc))
        return self.channel_name

    def _loop_layer(self):
        get_layer = getattr(self.layer, "_get_layer", None)
        return get_layer() if get_layer is not None else None

    async def receive(self):
        """The layer's next message for this socket; waits out a layer that is down."""
        while True:
            try:
                return await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.channel_ok = False
                self._start_retry()
                await asyncio.sleep(RETRY_SECONDS)

    async def join(self, groups: list[str]) -> bool:
        self.groups = list(groups)
        await self._join_missing()
        if not self.live:
            self._start_retry()
        return self.live

    async def _join_missing(self) -> None:
        if not probe().healthy:
            # Known down or hung: an attempt would only wait out JOIN_TIMEOUT. The retry
            # task (started by the caller) tries again once the probe sees Redis answer.
            return
        if not self.channel_ok:
            try:
                await self._subscribe_channel()
                self.channel_ok = True
            except Exception:
                return
        for group in self.groups:
            if group in self.joined:
                continue
            try:
                await asyncio.wait_for(self.layer.group_add(group, self.channel_name), JOIN_TIMEOUT)
            except Exception as exc:
                logger.info("group_add %s failed: Redis %s", group, _why(exc))
                return
            self.joined.append(group)

    async def _subscribe_channel(self) -> None:
        loop_layer = self._loop_layer()
        if loop_layer is None:  # the core layer: receiving is polling, nothing to subscribe
            return
        loop_layer.channels.setdefault(self.channel_name, SocketQueue())
        # Cancelling at the timeout is safe to retry: channels_redis.pubsub's shard
        # subscribe adds the name to its _subscribed_to only after redis-py's SUBSCRIBE
        # returned (read in channels_redis 4.3.0, RedisSingleShardConnection.subscribe),
        # and its lock is released by `async with` on the cancellation, so the next
        # attempt sends SUBSCRIBE again (harmless if the first one did reach Redis).
        # group_add is the same: it records the channel in the layer's groups first, then
        # calls the shard's subscribe.
        shard = loop_layer._get_shard(self.channel_name)
        await asyncio.wait_for(shard.subscribe(self.channel_name), JOIN_TIMEOUT)

    def _start_retry(self) -> None:
        if self.closed or (self.retry_task is not None and not self.retry_task.done()):
            return
        self.retry_task = asyncio.get_running_loop().create_task(self._retry())

    async def _retry(self) -> None:
        while not self.closed:
            await asyncio.sleep(RETRY_SECONDS)
            if self.closed:
                return
            await self._join_missing()
            if self.channel_ok and len(self.joined) == len(self.groups):
                return

    def track(self, group: str) -> None:
        """A group the socket joined by itself after connecting (a followed conversation):
        left at close like the others."""
        if group not in self.groups:
            self.groups.append(group)
        if group not in self.joined:
            self.joined.append(group)

    def untrack(self, group: str) -> None:
        for wanted in (self.groups, self.joined):
            if group in wanted:
                wanted.remove(group)

    def close(self) -> list[str]:
        """Stop retrying; the groups to leave."""
        self.closed = True
        if self.retry_task is not None and not self.retry_task.done():
            self.retry_task.cancel()
        joined, self.joined = self.joined, []
        return joined


class LayerTolerant:
    """Consumer mixin: Channels' AsyncConsumer.__call__ with the layer behind a PushLink
    (`self.push`). Channels subscribes the socket's channel before the handshake and
    failed it (HTTP 500) when Redis was down; here the socket works without pushes."""

    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self.push = PushLink(self.channel_layer)
        self.channel_name = await self.push.open_channel()
        self.channel_receive = self.push.receive
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.channel_receive], self.dispatch)
