"""The floor dashboard's socket (/ws/floor/, staff). It pushes ``floor.snapshot``: on
connect, soon after a conversation changes (it listens to the consoles' waiting-room
group, whose ``conversation.updated`` frames are its cue, never forwarded) and every
``FLOOR_REFRESH_SECONDS`` for the clocks (waits, states); at most one per
``FLOOR_MIN_INTERVAL``. The page never polls.

It also follows conversations read-only (their ``message.new`` / ``message.updated`` through
``chat.recipients.watch_group``) and carries the supervisor's actions: reassign, set an
agent away, close or open a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from django.conf import settings

from chat import recipients
from chat import selectors as chat_selectors
from chat.actors import Actor
from chat.consumers import ParleyConsumer
from chat.dbcalls import db
from chat.exceptions import AuthenticationFailed, Conflict, PermissionDenied, ValidationError
from chat.flows import flows
from chat.inbound import field_int
from chat.pipeline.health import translation_status
from routing import services as routing_services
from supervision import floor
from supervision.selectors import user_can_supervise

logger = logging.getLogger(__name__)

MAX_FOLLOWED = 10
# The codes of a reassignment refused for the agent's state (a waiting chat: at_capacity;
# an assigned one, a transfer: agent_unavailable).
UNAVAILABLE = ("at_capacity", "agent_unavailable")


class FloorConsumer(ParleyConsumer):
    endpoint = "supervisor"
    # A connect refused before it ran (chat/connect_gate.py) still gets its disconnect.
    pusher: asyncio.Task | None = None
    handlers = {
        "ping": "on_ping",
        "resume": "on_resume",  # a followed conversation's gap (the shared client asks)
        "floor.follow": "on_follow",
        "floor.unfollow": "on_unfollow",
        "floor.reassign": "on_reassign",
        "floor.agent_away": "on_agent_away",
        "floor.queue_close": "on_queue_close",
    }

    async def authenticate(self) -> Actor:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise AuthenticationFailed("Log in to see the floor.")
        if not await db(user_can_supervise)(user):
            raise PermissionDenied("The floor is for staff supervisors.")
        return Actor.for_agent(user)

    def principal_groups(self) -> list[str]:
        return [recipients.AGENTS_GROUP]

    def snapshot_sync(self) -> dict[str, Any]:
        return {"conversations": [], "translation": translation_status()}

    async def connect(self) -> None:
        self.following: set[int] = set()
        self.nudged = asyncio.Event()
        self.pusher: asyncio.Task | None = None
        await super().connect()
        if self.actor is not None:
            self.nudged.set()  # the first picture at once
            self.pusher = asyncio.create_task(self._push_loop())

    async def disconnect(self, code: int) -> None:
        if self.pusher is not None:
            self.pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pusher
            self.pusher = None
        await super().disconnect(code)  # leaves every group joined, followed ones too

    async def _push_loop(self) -> None:
        cfg = settings.SUPERVISION
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.nudged.wait(), cfg["FLOOR_REFRESH_SECONDS"])
            self.nudged.clear()
            try:
                snapshot = await db(floor.floor_snapshot)()
                await self.send_frame({"type": "floor.snapshot", **snapshot})
            except Exception:  # the next nudge or tick tries again
                logger.warning("floor snapshot failed", exc_info=True)
            await asyncio.sleep(cfg["FLOOR_MIN_INTERVAL"])

    async def ping_state(self) -> dict[str, Any]:
        return {"last_seq": {}}  # a floor socket tracks no conversation of its own

    async def parley_event(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        kind = frame.get("type")
        if kind in ("message.new", "message.updated"):
            if frame["message"]["conversation"] in self.following:
                await self.inbox.deliver(frame)
            return
        if kind == "conversation.updated":
            self.nudged.set()

    # --- frames -------------------------------------------------------------------------
    async def on_follow(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        after_seq = field_int(frame, "after_seq", required=False) or 0
        if conversation_id not in self.following and len(self.following) >= MAX_FOLLOWED:
            raise ValidationError(
                f"Follow at most {MAX_FOLLOWED} conversations at once.", code="too_many"
            )
        # Join first, then read: a message committed in between arrives twice (by seq)
        # rather than never. The read checks the supervisor may see it.
        group = recipients.watch_group(conversation_id)
        await self.channel_layer.group_add(group, self.channel_name)
        try:
            page = await db(chat_selectors.resume_page)(
                actor=self.actor,
                conversation_id=conversation_id,
                after_seq=after_seq,
                limit=settings.PARLEY["RESUME_PAGE_SIZE"],
            )
        except Exception:
            if conversation_id not in self.following:
                await self.channel_layer.group_discard(group, self.channel_name)
            raise
        if conversation_id not in self.following:
            self.following.add(conversation_id)
            self.push.track(group)
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation_id}
        )
        await self.send_frame({"type": "messages.batch", "ref": ref, **page})

    async def on_unfollow(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        if conversation_id in self.following:
            self.following.discard(conversation_id)
            group = recipients.watch_group(conversation_id)
            self.push.untrack(group)
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation_id}
        )

    async def on_reassign(self, frame: dict, ref: Any) -> None:
        to_agent = field_int(frame, "to_agent")
        try:
            conversation = await db(routing_services.conversation_reassign)(
                actor=self.actor,
                conversation_id=field_int(frame, "conversation"),
                to_agent_id=to_agent,
                note=frame.get("note"),
            )
        except Conflict as exc:
            if exc.code not in UNAVAILABLE:
                raise
            # The service says "no free slot (or not available)": say which condition
            # failed, from the router's own eligibility steps (README: "a refused one
            # says which is missing").
            reason = await db(floor.reassign_refusal)(agent_id=to_agent)
            if reason is None:
                raise
            raise Conflict(reason, code=exc.code) from exc
        await self._done(frame, ref, conversation=conversation.pk)

    async def on_agent_away(self, frame: dict, ref: Any) -> None:
        presence = await db(flows.agent_presence_set)(
            actor=self.actor, status="away", user_id=field_int(frame, "agent")
        )
        await self._done(frame, ref, status=presence.status)

    async def on_queue_close(self, frame: dict, ref: Any) -> None:
        closed = frame.get("closed", True)
        if not isinstance(closed, bool):
            raise ValidationError("closed is true or false.", field="closed")
        await db(routing_services.queue_close)(
            actor=self.actor, queue_id=field_int(frame, "queue"), closed=closed
        )
        await self._done(frame, ref, status="closed" if closed else "open")

    async def _done(self, frame: dict, ref: Any, **fields: Any) -> None:
        await self.send_frame({"type": "ack", "ref": ref, "for": frame["type"], **fields})
        self.nudged.set()  # the floor shows the action's effect at once
