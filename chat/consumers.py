"""The two socket endpoints: the widget's (signed visitor token) and the console's (Django
session). Consumers are thin: parse a frame, await one service, send the answer. Every
frame is described in docs/protocol.md.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import inbound, realtime, selectors, services
from chat.actors import Actor
from chat.exceptions import AuthenticationFailed, ParleyError, PermissionDenied, ValidationError
from chat.inbox import Inbox

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_FLOOD = 4429


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


def _field_int(frame: dict, name: str, *, required: bool = True) -> int | None:
    value = frame.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"{name} must be a non-negative integer.", code="invalid_field", field=name
        )
    return value


class ParleyConsumer(AsyncWebsocketConsumer):
    """Shared protocol machinery: framing, limits, errors, resume, receipts, typing."""

    handlers: dict[str, str] = {
        "ping": "on_ping",
        "message.send": "on_message_send",
        "resume": "on_resume",
        "receipt": "on_receipt",
        "typing": "on_typing",
        "conversation.resolve": "on_conversation_resolve",
    }

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first closes stale database connections by hopping onto
        # the one thread that all of a process's database work shares (sync_to_async is
        # thread-sensitive), for every message: for a console that is a hop per broadcast
        # frame, and with 50 consoles those hops queued the router's and every socket's
        # database work behind them (seconds from queued to offer in bench/routing_sim.py).
        # Every database call here goes through database_sync_to_async, which closes
        # stale connections itself on that thread, so the hop is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def authenticate(self) -> Actor:
        raise NotImplementedError

    def principal_groups(self) -> list[str]:
        raise NotImplementedError

    async def connect(self) -> None:
        self.actor: Actor | None = None
        self.joined: list[str] = []
        self.typing_targets: dict[int, dict[str, Any]] = {}
        cfg = settings.PARLEY
        self.max_bytes = cfg["WS_MAX_FRAME_BYTES"]
        self.bucket = TokenBucket(cfg["WS_RATE_PER_SECOND"], cfg["WS_RATE_BURST"])
        self.refusals = 0
        self.inbox = Inbox(
            lambda text: self.receive(text_data=text), self.send_frame, cfg["WS_QUEUE_FRAMES"]
        )
        try:
            actor = await self.authenticate()
        except AuthenticationFailed as exc:
            # Accept, then close: a close before accept reaches the browser as a bare 403
            # and the client cannot tell "log in again" from "network trouble".
            await self.accept()
            await self.send_frame({"type": "error", "code": exc.code, "message": exc.message})
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        except PermissionDenied as exc:
            await self.accept()
            await self.send_frame({"type": "error", "code": exc.code, "message": exc.message})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.actor = actor
        # Join before reading the snapshot: an event committed in between then arrives
        # twice (deduplicated by seq) instead of not at all.
        for group in self.principal_groups():
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        await self.accept()
        snapshot = await database_sync_to_async(selectors.session_snapshot)(actor=actor)
        await self.send_frame(
            {
                "type": "hello",
                "role": actor.kind,
                "heartbeat_interval": cfg["HEARTBEAT_INTERVAL"],
                "server_time": time.time(),
                **snapshot,
            }
        )

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        """Every frame is charged here, as the server hands it over, before anything
        awaits the database: its handling waits in the socket's own bounded queue (in
        order). Channels hands a consumer its next frame only when the last one is done,
        so a bucket charged at handling refilled while a flood queued behind database
        work: 20 sockets sending 200 frames in 0.55 s were never limited, and every other
        socket waited behind them."""
        if self.actor is None or self.inbox.closed:
            return
        text = message.get("text")
        if self.bucket.full():
            # The client kept within its rate long enough to refill the burst: it heeded
            # the refusals. A flood refills a token now and then but never the bucket, so
            # its refusals add up to the close however fast it sends.
            self.refusals = 0
        if not self.bucket.take() or self.inbox.full():
            await self.refuse(text)
            return
        if text is None:
            await self.send_error("bad_frame", "Binary frames are not supported; send JSON text.")
        elif len(text) > self.max_bytes or len(text.encode()) > self.max_bytes:
            await self.send_error("too_large", f"Frames are limited to {self.max_bytes} bytes.")
        else:
            self.inbox.put(text)

    async def refuse(self, text_data: str | None) -> None:
        self.refusals += 1
        if self.refusals >= settings.PARLEY["WS_FLOOD_CLOSE_AFTER"]:
            self.inbox.close()  # what the flood queued is dropped unhandled
            await self.close(code=CLOSE_FLOOD)
            return
        # What it queued waits until it has kept within its rate long enough to refill the
        # burst, instead of taking the database thread from everyone else meanwhile.
        self.inbox.pause(self.bucket.time_to_full())
        await self.send_error(
            "rate_limited",
            "Too many frames; slow down and retry.",
            _frame_id(text_data, self.max_bytes),
        )

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.actor is not None:
            self.inbox.close()
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # a mass disconnect can fail here; group expiry cleans up
                logger.warning("group_discard %s failed", group, exc_info=True)
        self.joined = []

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), default=str))

    async def send_error(self, code: str, message: str, ref: Any = None, field: str | None = None):
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if ref is not None:
            frame["ref"] = ref
        if field:
            frame["field"] = field
        await self.send_frame(frame)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """One frame from the socket's queue (charged and size-checked on arrival)."""
        try:
            frame = json.loads(text_data)
        except RecursionError:
            exc = inbound.too_deep(inbound.max_depth())
            await self.send_error(exc.code, exc.message)
            return
        except ValueError:
            await self.send_error("bad_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", "A frame is a JSON object with a string 'type'.")
            return
        ref = frame.get("id")
        if ref is not None and (not isinstance(ref, (str, int)) or isinstance(ref, bool)):
            ref = None
        try:
            inbound.check(frame)  # depth, unstorable characters, integers past 64 bits
        except ValidationError as exc:
            await self.send_error(exc.code, exc.message, _safe_ref(ref), exc.field)
            return
        handler_name = self.handlers.get(frame["type"])
        if handler_name is None:
            await self.send_error("unknown_type", f"Unknown frame type {frame['type']!r}.", ref)
            return
        try:
            await getattr(self, handler_name)(frame, ref)
        except ParleyError as exc:
            await self.send_error(exc.code, exc.message, ref, exc.field)
        except Exception:
            logger.exception("frame %s failed", frame.get("type"))
            await self.send_error("internal", "The server failed on this frame; retry.", ref)

    # --- layer events ------------------------------------------------------------------
    async def parley_event(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        if frame.get("type") == "conversation.updated":
            # Participants may have changed: re-read the typing fan-out on next use.
            self.typing_targets.pop(frame["conversation"]["id"], None)
        await self.inbox.deliver(frame)

    # --- frames ------------------------------------------------------------------------
    async def on_ping(self, frame: dict, ref: Any) -> None:
        state = await database_sync_to_async(self.ping_sync)()
        await self.send_frame(
            {"type": "pong", "ref": ref, "t": frame.get("t"), "server_time": time.time(),
             **state}
        )  # fmt: skip

    def ping_sync(self) -> dict[str, Any]:
        """A ping's database work, in one hop: subclasses add their bookkeeping and their
        own fields of the pong."""
        return {"last_seq": selectors.open_conversation_tops(actor=self.actor)}

    async def on_message_send(self, frame: dict, ref: Any) -> None:
        conversation_id = _field_int(frame, "conversation")
        message, created = await database_sync_to_async(services.message_send)(
            actor=self.actor,
            conversation_id=conversation_id,
            body=frame.get("body"),
            client_msg_id=frame.get("client_msg_id"),
            choice=frame.get("choice"),  # a bot button's id; the service validates it
        )
        # Sent only now, after commit: an accepted message is durable.
        await self.send_frame(
            {
                "type": "message.accepted",
                "ref": ref,
                "conversation": conversation_id,
                "client_msg_id": message.client_msg_id,
                "message_id": message.pk,
                "seq": message.seq,
                "created_at": message.created_at.isoformat(),
                "duplicate": not created,
            }
        )

    async def on_resume(self, frame: dict, ref: Any) -> None:
        conversation_id = _field_int(frame, "conversation")
        after_seq = _field_int(frame, "after_seq")
        limit = settings.PARLEY["RESUME_PAGE_SIZE"]
        payload = await database_sync_to_async(selectors.resume_page)(
            actor=self.actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
        )
        await self.send_frame({"type": "messages.batch", "ref": ref, **payload})

    async def on_receipt(self, frame: dict, ref: Any) -> None:
        await database_sync_to_async(services.receipt_update)(
            actor=self.actor,
            conversation_id=_field_int(frame, "conversation"),
            delivered_seq=frame.get("delivered_seq"),
            read_seq=frame.get("read_seq"),
        )

    async def on_typing(self, frame: dict, ref: Any) -> None:
        conversation_id = _field_int(frame, "conversation")
        target = self.typing_targets.get(conversation_id)
        if target is None:
            # One permission check per conversation per socket, not one per keystroke.
            target = await database_sync_to_async(services.typing_target)(
                actor=self.actor, conversation_id=conversation_id
            )
            self.typing_targets[conversation_id] = target
        typing = services.typing_frame(
            conversation_id=conversation_id, target=target, state=frame.get("state")
        )
        await realtime.apublish_ephemeral(target["groups"], typing)

    async def on_conversation_resolve(self, frame: dict, ref: Any) -> None:
        conversation = await database_sync_to_async(services.conversation_resolve)(
            actor=self.actor, conversation_id=_field_int(frame, "conversation")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )


class WidgetConsumer(ParleyConsumer):
    handlers = {**ParleyConsumer.handlers, "conversation.start": "on_conversation_start"}

    async def authenticate(self) -> Actor:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        customer = await database_sync_to_async(selectors.customer_get_from_token)(token=token)
        origin = dict(self.scope.get("headers", [])).get(b"origin", b"").decode() or None
        if not customer.site.origin_allowed(origin):
            raise PermissionDenied(
                "This origin may not embed the widget.", code="origin_not_allowed"
            )
        return Actor.for_customer(customer)

    def principal_groups(self) -> list[str]:
        return [realtime.customer_group(self.actor.customer.pk)]

    # --- routing: the customer's presence feeds the "customer left" timers, and a waiting
    # customer sees their place in line (queue.position) from the first frame on.
    async def connect(self) -> None:
        await super().connect()
        if self.actor is not None:
            for position in await database_sync_to_async(_widget_arrived)(actor=self.actor):
                await self.send_frame(position)

    async def disconnect(self, code: int) -> None:
        if self.actor is not None:
            await database_sync_to_async(_customer_seen)(customer_id=self.actor.customer.pk)
        await super().disconnect(code)

    def ping_sync(self) -> dict[str, Any]:
        _customer_seen(customer_id=self.actor.customer.pk)
        return super().ping_sync()

    async def on_conversation_start(self, frame: dict, ref: Any) -> None:
        from chat.payloads import conversation_payload

        def start() -> dict[str, Any]:
            conversation, created = services.conversation_start(
                actor=self.actor, language=frame.get("language"), subject=frame.get("subject") or ""
            )
            return {"conversation": conversation_payload(conversation), "created": created}

        payload = await database_sync_to_async(start)()
        await self.send_frame({"type": "conversation.started", "ref": ref, **payload})
        position = await database_sync_to_async(_queue_position)(payload["conversation"]["id"])
        if position is not None:
            await self.send_frame(position)


def _frame_id(text_data: str | None, max_bytes: int) -> str | int | None:
    """The id of a frame that is dropped unread (rate limited), so the client knows which
    one to send again; None when there is none to find cheaply."""
    if not text_data or len(text_data) > max_bytes:
        return None
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        return None
    ref = frame.get("id") if isinstance(frame, dict) else None
    return _safe_ref(ref) if isinstance(ref, (str, int)) and not isinstance(ref, bool) else None


def _safe_ref(ref: str | int | None) -> str | int | None:
    """A ref that can be echoed: an id that is itself unstorable or past 64 bits is not."""
    try:
        inbound.check(ref)
    except ValidationError:
        return None
    return ref


def _customer_seen(*, customer_id: int) -> None:
    from routing.services import customer_seen

    customer_seen(customer_id=customer_id)


def _widget_arrived(*, actor: Actor) -> list[dict[str, Any]]:
    from django.utils import timezone

    from routing.selectors import queue_positions_for_customer
    from routing.services import customer_seen

    customer_seen(customer_id=actor.customer.pk)
    return queue_positions_for_customer(actor=actor, now=timezone.now())


def _queue_position(conversation_id: int) -> dict[str, Any] | None:
    from django.utils import timezone

    from routing.selectors import queue_position_for_conversation

    return queue_position_for_conversation(conversation_id=conversation_id, now=timezone.now())


class AgentConsumer(ParleyConsumer):
    handlers = {
        **ParleyConsumer.handlers,
        "conversation.take": "on_conversation_take",
        "presence.set": "on_presence_set",
        "reservation.accept": "on_reservation_accept",
        "reservation.decline": "on_reservation_decline",
        "conversation.transfer": "on_conversation_transfer",
    }

    async def authenticate(self) -> Actor:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise AuthenticationFailed("Log in to use the console.")
        if not await database_sync_to_async(selectors.user_is_agent)(user):
            raise PermissionDenied("This account is not an agent.")
        return Actor.for_agent(user)

    def principal_groups(self) -> list[str]:
        return [realtime.user_group(self.actor.user.pk), realtime.AGENTS_GROUP]

    async def on_conversation_take(self, frame: dict, ref: Any) -> None:
        from routing.services import conversation_assign

        conversation = await database_sync_to_async(conversation_assign)(
            actor=self.actor, conversation_id=_field_int(frame, "conversation")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )

    # --- routing: presence, heartbeats, offers, transfers ------------------------------
    async def connect(self) -> None:
        await super().connect()  # hello: conversations, open offers, stored presence
        if self.actor is not None:
            from agents.services import agent_console_connect

            # Live from now on; agent.presence and any new offers follow on the user group.
            await database_sync_to_async(agent_console_connect)(
                user=self.actor.user, channel_name=self.channel_name
            )

    async def disconnect(self, code: int) -> None:
        if self.actor is not None:
            from agents.services import agent_console_disconnect

            try:
                await database_sync_to_async(agent_console_disconnect)(
                    user_id=self.actor.user.pk, channel_name=self.channel_name
                )
            except Exception:  # the heartbeat sweeper reaches the same state
                logger.warning("console disconnect bookkeeping failed", exc_info=True)
        await super().disconnect(code)

    def ping_sync(self) -> dict[str, Any]:
        from agents.services import agent_heartbeat
        from routing.selectors import agent_console_offers

        # A console ping is the agent's heartbeat: it keeps them eligible for offers.
        agent_heartbeat(user=self.actor.user, channel_name=self.channel_name)
        # And it lists the agent's open offers: one whose push was lost shows up within a
        # heartbeat, instead of expiring unseen and counting as the agent's miss.
        return super().ping_sync() | {"offers": agent_console_offers(user_id=self.actor.user.pk)}

    async def on_presence_set(self, frame: dict, ref: Any) -> None:
        from agents.services import agent_presence_set

        presence = await database_sync_to_async(agent_presence_set)(
            actor=self.actor, status=frame.get("status")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "status": presence.status}
        )

    async def on_reservation_accept(self, frame: dict, ref: Any) -> None:
        from routing.services import reservation_accept

        reservation_id = _field_int(frame, "reservation")
        conversation = await database_sync_to_async(reservation_accept)(
            actor=self.actor, reservation_id=reservation_id
        )
        await self.send_frame(
            {
                "type": "ack",
                "ref": ref,
                "for": frame["type"],
                "reservation": reservation_id,
                "conversation": conversation.pk,
            }
        )

    async def on_reservation_decline(self, frame: dict, ref: Any) -> None:
        from routing.services import reservation_decline

        reservation = await database_sync_to_async(reservation_decline)(
            actor=self.actor,
            reservation_id=_field_int(frame, "reservation"),
            reason=frame.get("reason") or "",
        )
        await self.send_frame(
            {
                "type": "ack",
                "ref": ref,
                "for": frame["type"],
                "reservation": reservation.pk,
                "conversation": reservation.conversation_id,
            }
        )

    async def on_conversation_transfer(self, frame: dict, ref: Any) -> None:
        from routing.services import conversation_transfer

        conversation = await database_sync_to_async(conversation_transfer)(
            actor=self.actor,
            conversation_id=_field_int(frame, "conversation"),
            to_agent_id=_field_int(frame, "to_agent", required=False),
            to_queue_id=_field_int(frame, "to_queue", required=False),
            note=frame.get("note") or "",
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )
