"""A socket's queue of frames waiting to be handled: bounded, handled in order by one task
of the socket's own, so the consumer takes (and charges) each frame as it arrives.

Pushes (layer events) that arrive while a frame is being handled are held and sent right
after that frame's reply, as when Channels handled one message at a time: a sender gets
`message.accepted` before its own `message.new`, and a console's `pong` lists the offers
open when it was built, with any newer offer pushed after it (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


class Inbox:
    """What an idle socket keeps here is a few attributes: the queues are made when a frame
    or a held push arrives and dropped once handled, and the task that handles them ends
    when nothing waits (a ping every 20 s starts one). Kept for the socket's life, the two
    deques, an event and a waiting task cost about 3 kB a socket, 7 % of all a socket
    costs (docs/benchmarks.md, "What an idle socket holds")."""

    __slots__ = (
        "busy",
        "closed",
        "frames",
        "handle",
        "held",
        "paused_until",
        "push",
        "size",
        "task",
    )

    def __init__(
        self,
        handle: Callable[[str], Awaitable[None]],
        push: Callable[[dict[str, Any]], Awaitable[None]],
        size: int,
    ) -> None:
        self.handle, self.push, self.size = handle, push, size
        self.frames: deque[str] | None = None
        self.held: deque[dict[str, Any]] | None = None
        self.busy = self.closed = False
        self.paused_until = 0.0
        self.task: asyncio.Task | None = None

    def full(self) -> bool:
        return self.frames is not None and len(self.frames) >= self.size

    def put(self, text: str) -> None:
        if self.frames is None:
            self.frames = deque()
        self.frames.append(text)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def deliver(self, frame: dict[str, Any]) -> None:
        """A push: now, or after the reply of the frame being handled."""
        if self.busy:
            if self.held is None:
                self.held = deque()
            self.held.append(frame)
        else:
            await self.push(frame)

    def pause(self, seconds: float) -> None:
        """Handle nothing for `seconds`: a socket over its rate keeps its waiting frames
        off the database thread, so a flood's backlog never runs ahead of other sockets'
        frames (it is dropped when the flood is closed)."""
        until = asyncio.get_running_loop().time() + min(seconds, 3600.0)
        self.paused_until = max(self.paused_until, until)

    def close(self) -> None:
        """Drop what waits and stop; a frame being handled is cancelled (a send that was
        not acknowledged is sent again by the client, and is idempotent)."""
        self.closed = True
        self.frames = self.held = None
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self.closed and self.frames:
                delay = self.paused_until - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                    continue
                text = self.frames.popleft()
                self.busy = True
                try:
                    await self.handle(text)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the handler answers its own errors; a last guard
                    logger.exception("a socket frame's handler failed")
                finally:
                    self.busy = False
                while self.held and not self.closed:
                    await self.push(self.held.popleft())
        finally:
            # No await between the loop's last look at the queue and here: a frame put
            # after it finds no task and starts the next one.
            self.task = None
            if not self.closed:
                if not self.frames:
                    self.frames = None
                if not self.held:
                    self.held = None


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def full(self) -> bool:
        return self.time_to_full() == 0

    def time_to_full(self) -> float:
        missing = self.capacity - self.tokens - (time.monotonic() - self.stamp) * self.rate
        if missing <= 0:
            return 0.0
        return missing / self.rate if self.rate > 0 else float("inf")
