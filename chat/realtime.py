"""The one way events reach sockets.

Services call ``publish_on_commit``; every frame must be declared in ``chat.events`` (it is
checked here, where the service builds it); the frame is built by the caller at publish time, so
the socket tier never queries the database. Delivery is a hint: the database is the truth
and clients resume by seq, so a failed publish is logged, never raised into the service.

Who gets what (the groups) is chat.recipients.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import transaction

from chat import events, metrics

logger = logging.getLogger(__name__)

EVENT_HANDLER = "parley.event"  # dispatched to Consumer.parley_event
# A publish from the ASGI server gives up after this long (a healthy one takes a
# millisecond).
PUBLISH_TIMEOUT = 2.0


def publish_on_commit(groups: Iterable[str], frame: dict[str, Any]) -> None:
    """Send ``frame`` to ``groups`` once the current transaction commits (now if none)."""
    publish_many_on_commit([(groups, frame)])


def publish_many_on_commit(items: Iterable[tuple[Iterable[str], dict[str, Any]]]) -> None:
    """Several frames after commit, in order, in one trip through the layer. Outside an
    event loop (a Celery worker, a sweeper) each async_to_sync call starts a loop and a
    Redis connection (about 5 ms here), so one call per frame and group adds up."""
    batch = [(sorted(set(groups)), frame) for groups, frame in items]
    batch = [(groups, frame) for groups, frame in batch if groups]
    for _, frame in batch:
        events.check(frame)  # here, in the service that built it, not after commit
    if batch:
        # Callbacks run in registration order, so a router kick registered before the
        # caller's own snapshot can send "offered" before a stale "queued": clients order
        # snapshots by their rev (bumped under the row lock), which holds across processes.
        transaction.on_commit(lambda: _send_many(batch), robust=True)


def _send_many(batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    for _, frame in batch:  # after commit: only what happened is counted
        metrics.frame_published(frame["type"])
    if not batch or get_channel_layer() is None:
        return
    if getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None:
        # Inside the ASGI server: its loop, its connections. The caller (a socket's
        # database thread, at commit) waits for it, so the wait is bounded: a Redis that
        # accepts connections and never answers held every database thread for the
        # layer's socket timeout (60 s), and the sockets' sends with them (a fault probe).
        # No circuit breaker on top: one skipped publishes after Redis was back while the
        # sockets' pongs already said push: true, so clients had stopped polling (a
        # Sentinel failover test caught it).
        try:
            async_to_sync(_send_batch_bounded)(batch)
        except TimeoutError:
            logger.warning(
                "publish of %s frames took over %s s: Redis is stalled (clients resume by seq)",
                len(batch), PUBLISH_TIMEOUT,
            )  # fmt: skip
        except Exception:
            logger.warning("publish of %s frames failed", len(batch), exc_info=True)
        return
    _publisher().submit(batch)


async def _send_batch_bounded(batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    await asyncio.wait_for(_send_batch(batch), PUBLISH_TIMEOUT)


async def _send_batch(batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    # Pipelined on the server's loop too: a message's frames go to two or three groups,
    # and one round trip for them (one shard lock, no per-command connection checkout)
    # took daphne from 2.0 to 1.9 ms of CPU per message and held 400 msg/s at p99 19 ms
    # where plain group_sends queued to p99 415 ms (bench/ws_pairs.py, docs/benchmarks.md).
    # (An earlier routing run had measured it slower there, queued-to-offer p50 18 against
    # 13.5 ms, on a shared machine; not re-run since.)
    if isinstance(layer, RedisPubSubChannelLayer):
        try:
            await _publish_pipelined(layer, batch)
        except Exception:  # the layer is down: clients recover by resuming from seq
            logger.warning("publish of %s frames failed", len(batch), exc_info=True)
        return
    for groups, frame in batch:
        message = {"type": EVENT_HANDLER, "frame": frame}
        for group in groups:
            try:
                await layer.group_send(group, message)
            except Exception:  # the layer is down: clients recover by resuming from seq
                logger.warning(
                    "publish to %s failed (frame %s)", group, frame.get("type"), exc_info=True
                )


async def _publish_pipelined(
    layer: RedisPubSubChannelLayer, batch: list[tuple[list[str], dict[str, Any]]]
) -> None:
    """What ``group_send`` does for each group (one PUBLISH to the group's channel), with
    each frame serialised once and every PUBLISH of the batch in one pipeline per shard:
    one round trip, and a fraction of redis-py's per-command CPU, which was most of a
    routing decision's publishing cost. Uses channels_redis 4.3's pub/sub internals (the
    version is pinned; tests/chat/test_realtime.py runs this against a real Redis and a
    real subscriber); the shard's lock keeps it apart from the layer's own commands."""
    loop_layer = layer._get_layer()
    by_shard: dict[Any, list[tuple[str, bytes]]] = {}
    for groups, frame in batch:
        try:
            data = layer.serialize({"type": EVENT_HANDLER, "frame": frame})
        except Exception:  # one frame msgpack cannot carry must not take the batch down
            logger.error("frame %s cannot be encoded: not sent", frame.get("type"), exc_info=True)
            continue
        for group in groups:
            channel = loop_layer._get_group_channel_name(group)
            by_shard.setdefault(loop_layer._get_shard(channel), []).append((channel, data))
    for shard, items in by_shard.items():
        async with shard._lock:
            shard._ensure_redis()
            async with shard._redis.pipeline(transaction=False) as pipe:
                for channel, data in items:
                    pipe.publish(channel, data)
                await pipe.execute()


class _Publisher:
    """Publishing from plain threads (Celery workers, sweepers, the router's workers).

    One event loop per process keeps its Redis connections, where async_to_sync would
    open a new loop and connection per call. The caller does not wait for Redis: batches
    go on one FIFO queue that a single task drains, so frames leave in the order they
    were published (per process, as before) and a slow or absent Redis never holds a
    routing decision or a task. Bounded: past MAX_PENDING batches, new ones are dropped
    with a warning (clients resume from seq). Flushed at exit and by ``flush()``."""

    MAX_PENDING = 10_000
    COALESCE = 100  # batches per send at most

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        ready = threading.Event()
        threading.Thread(
            target=self._run, args=(ready,), name="parley-publisher", daemon=True
        ).start()
        ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue(self.MAX_PENDING)
        self.loop.create_task(self._drain())
        ready.set()
        self.loop.run_forever()

    async def _drain(self) -> None:
        while True:
            batches = [await self.queue.get()]
            # Whatever queued up while the last send was out goes in one send (one
            # pipeline), still in order: under load, fewer and fuller round trips.
            while len(batches) < self.COALESCE and not self.queue.empty():
                batches.append(self.queue.get_nowait())
            batch = [item for queued in batches for item in queued]
            try:
                await _send_batch(batch)
            except Exception:
                logger.warning("publish of %s frames failed", len(batch), exc_info=True)
            finally:
                for _ in batches:
                    self.queue.task_done()

    def _put(self, batch) -> None:
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            logger.warning("publisher backlog full: dropped %s frames", len(batch))

    def submit(self, batch: list[tuple[list[str], dict[str, Any]]]) -> None:
        self.loop.call_soon_threadsafe(self._put, batch)

    def flush(self, timeout: float) -> bool:
        async def drained() -> None:
            await self.queue.join()

        try:
            asyncio.run_coroutine_threadsafe(drained(), self.loop).result(timeout)
            return True
        except Exception:
            return False


_publisher_state: _Publisher | None = None
_publisher_lock = threading.Lock()


def _publisher() -> _Publisher:
    """This process's publisher, recreated after a fork."""
    global _publisher_state
    with _publisher_lock:
        if _publisher_state is None or _publisher_state.pid != os.getpid():
            _publisher_state = _Publisher()
        return _publisher_state


def flush(timeout: float = 5.0) -> bool:
    """Wait until this process's queued frames have gone to the layer (tests, shutdown)."""
    state = _publisher_state
    if state is None or state.pid != os.getpid():
        return True
    return state.flush(timeout)


atexit.register(flush, 2.0)


def publish_ephemeral(groups: Iterable[str], frame: dict[str, Any]) -> None:
    """Send a frame that has no state behind it (typing); there is nothing to commit."""
    events.check(frame)
    targets = sorted(set(groups))
    if targets:
        _send_many([(targets, frame)])


async def apublish_ephemeral(groups: Iterable[str], frame: dict[str, Any]) -> None:
    events.check(frame)
    await _send_batch([(sorted(set(groups)), frame)])
