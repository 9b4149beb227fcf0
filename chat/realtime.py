"""The one way events reach sockets.

Services call ``publish_on_commit``; the frame is built by the caller at publish time, so
the socket tier never queries the database. Delivery is a hint: the database is the truth
and clients resume by seq, so a failed publish is logged, never raised into the service.

Groups: every socket joins its principal's group (``cust.<id>`` or ``user.<id>``), agent
consoles also join ``agents``. Conversation events fan out to the principal groups of the
conversation's participants, computed from the database at publish time, so there is no
per-conversation group membership to keep in sync across processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

AGENTS_GROUP = "agents"
EVENT_HANDLER = "parley.event"  # dispatched to Consumer.parley_event


def customer_group(customer_id: int) -> str:
    return f"cust.{customer_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _send(groups: list[str], frame: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": EVENT_HANDLER, "frame": frame}
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # the layer is down: clients recover by resuming from seq
            logger.warning(
                "publish to %s failed (frame %s)", group, frame.get("type"), exc_info=True
            )


def publish_on_commit(groups: Iterable[str], frame: dict[str, Any]) -> None:
    """Send ``frame`` to ``groups`` once the current transaction commits (now if none)."""
    targets = sorted(set(groups))
    if targets:
        transaction.on_commit(lambda: _send(targets, frame), robust=True)


def publish_many_on_commit(items: Iterable[tuple[Iterable[str], dict[str, Any]]]) -> None:
    """Several frames after commit, in order, in one trip through the layer. Outside an
    event loop (a Celery worker, a sweeper) each async_to_sync call starts a loop and a
    Redis connection (about 5 ms here), so one call per frame and group adds up."""
    batch = [(sorted(set(groups)), frame) for groups, frame in items]
    batch = [(groups, frame) for groups, frame in batch if groups]
    if batch:
        transaction.on_commit(lambda: _send_many(batch), robust=True)


def _send_many(batch: list[tuple[list[str], dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for groups, frame in batch:
            message = {"type": EVENT_HANDLER, "frame": frame}
            for group in groups:
                try:
                    await layer.group_send(group, message)
                except Exception:  # clients recover by resuming from seq
                    logger.warning(
                        "publish to %s failed (frame %s)", group, frame.get("type"), exc_info=True
                    )

    try:
        if getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None:
            async_to_sync(send_all)()  # inside the ASGI server: its loop, its connections
        else:
            asyncio.run_coroutine_threadsafe(send_all(), _publisher_loop()).result(timeout=10)
    except Exception:
        logger.warning("publish of %s frames failed", len(batch), exc_info=True)


_publisher: tuple[int, asyncio.AbstractEventLoop] | None = None
_publisher_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process for publishing from plain threads (Celery workers,
    sweepers): it keeps its Redis connections, where async_to_sync would open a new
    loop and connection for every call. Recreated after a fork."""
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="parley-publisher", daemon=True).start()
            _publisher = (os.getpid(), loop)
        return _publisher[1]


def publish_ephemeral(groups: Iterable[str], frame: dict[str, Any]) -> None:
    """Send a frame that has no state behind it (typing); there is nothing to commit."""
    _send(sorted(set(groups)), frame)


async def apublish_ephemeral(groups: Iterable[str], frame: dict[str, Any]) -> None:
    layer = get_channel_layer()
    message = {"type": EVENT_HANDLER, "frame": frame}
    for group in sorted(set(groups)):
        try:
            await layer.group_send(group, message)
        except Exception:
            logger.warning(
                "publish to %s failed (frame %s)", group, frame.get("type"), exc_info=True
            )
