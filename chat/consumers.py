"""The protocol every socket speaks (ParleyConsumer) and the widget's endpoint (signed
visitor token). The console's endpoint is agents.consumers. Consumers are thin: parse a
frame, await one service, send the answer. Every frame is described in docs/protocol.md.

The flows that cross apps (a start, a send that advances the bot) are called through
chat.flows, which actions/ binds at start-up: no app imports the layer above it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from chat import connect_gate, events, inbound, logcontext, metrics, realtime, selectors, services
from chat.actors import Actor
from chat.dbcalls import db
from chat.exceptions import AuthenticationFailed, ParleyError, PermissionDenied, ValidationError
from chat.flows import flows
from chat.inbound import field_int
from chat.inbox import Inbox, TokenBucket
from chat.layer_exit import layer_leave
from chat.peer import CONNECTION_GONE
from chat.push import LayerTolerant
from chat.sent_pushes import SentPushes
from chat.socket_cap import SocketLease
from chat.socket_reads import resume_page, session_snapshot

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# The database is unavailable: try again later (RFC 6455's 1013 says the same, but a
# server may send only 1000 or 3000-4999, and autobahn refuses the others).
CLOSE_TRY_AGAIN = 4503
CLOSE_FLOOD = 4429
CLOSE_TOO_MANY_SOCKETS = 4409


class ParleyConsumer(LayerTolerant, AsyncWebsocketConsumer):
    """Shared protocol machinery: framing, limits, errors, resume, receipts, typing."""

    endpoint = "socket"  # the metrics' and logs' name for this kind of socket
    peer_gone = False  # a send found the client gone: later frames are dropped

    handlers: dict[str, str] = {
        "ping": "on_ping",
        "message.send": "on_message_send",
        "resume": "on_resume",
        "receipt": "on_receipt",
        "typing": "on_typing",
        "conversation.resolve": "on_conversation_resolve",
        "hello.request": "on_hello_request",
    }

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first closes stale database connections by hopping onto
        # the one thread that all of a process's database work shares (sync_to_async is
        # thread-sensitive), for every message: for a console that is a hop per broadcast
        # frame, and with 50 consoles those hops queued the router's and every socket's
        # database work behind them (seconds from queued to offer in bench/routing_sim.py).
        # Every database call here goes through chat.dbcalls.db, which closes stale
        # connections itself on the thread that runs it, so the hop is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # The whole connect, a subclass's part included, holds one of the process's
        # connect slots (chat/connect_gate.py: a reconnect storm is served first come,
        # first served, and what daphne already gave up on is not run).
        async with connect_gate.admitted(self.endpoint) as ok:
            if not ok:
                self.actor = None
                await self.close()  # before accept: the handshake is refused (403)
                return
            await super().websocket_connect(message)

    async def authenticate(self) -> Actor:
        raise NotImplementedError

    def principal_groups(self) -> list[str]:
        raise NotImplementedError

    async def connect(self) -> None:
        try:
            await self._connect()
        except (OperationalError, InterfaceError):
            # The database is unreachable (a restart, a failover, a full pool): say so and
            # close with 4503 "try again later", which clients treat as any network close
            # (back off, reconnect, resume). It was a bare HTTP 500 on the handshake.
            logger.warning("socket connect: database unavailable", exc_info=True)
            if not getattr(self, "accepted", False):
                await self.accept()  # then close: a bare refusal reads as a 403 (see below)
            await self.send_frame({"type": "error", "code": "unavailable",
                                   "message": "The service is unavailable for a moment; retrying."})  # fmt: skip
            await self.close(code=CLOSE_TRY_AGAIN)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        self.accepted = True
        await super().accept(subprotocol, headers)

    async def _connect(self) -> None:
        self.actor: Actor | None = None
        self.lease: SocketLease | None = None
        self.typing_targets: dict[int, dict[str, Any]] = {}
        self.sent = SentPushes()  # so that two groups' copies of a push go out once
        cfg = settings.PARLEY
        self.max_bytes = cfg["WS_MAX_FRAME_BYTES"]
        self.bucket = TokenBucket(cfg["WS_RATE_PER_SECOND"], cfg["WS_RATE_BURST"])
        self.refusals = 0
        self.inbox = Inbox(
            lambda text: self.receive(text_data=text), self._send_json, cfg["WS_QUEUE_FRAMES"]
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
        principal = actor.customer.pk if actor.kind == "customer" else actor.user.pk
        self.lease = SocketLease(actor.kind, principal, self.channel_name)
        if not await self.lease.acquire():
            await self.accept()
            await self.send_frame(
                {"type": "error", "code": "too_many_sockets",
                 "message": f"At most {self.lease.cap} sockets may be open at once; "
                            "close another tab or retry later."}
            )  # fmt: skip
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        self.actor = actor
        metrics.SOCKETS.labels(endpoint=self.endpoint).inc()
        # Join before reading the snapshot: an event committed in between then arrives
        # twice (deduplicated by seq) instead of not at all. Redis down: joined later.
        await self.push.join(self.principal_groups())
        await self.accept()
        await self.send_hello()

    async def send_hello(self, ref: Any = None) -> None:
        snapshot = await db(self.snapshot_sync)()
        hello = {
            "type": "hello",
            "role": self.actor.kind,
            "heartbeat_interval": settings.PARLEY["HEARTBEAT_INTERVAL"],
            "server_time": time.time(),
            "push": self.push.live,
            **snapshot,
        }
        if ref is not None:
            hello["ref"] = ref
        await self.send_frame(hello)

    async def on_hello_request(self, frame: dict, ref: Any) -> None:
        # A tab that joins a socket shared by several (static/parley/client/hub.js) gets a
        # snapshot of its own: the socket's hello went out when it opened.
        await self.send_hello(ref)

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
        metrics.RATE_LIMITED.labels(endpoint=self.endpoint).inc()
        # Every refused frame is told so, the last one too, before the close.
        await self.send_error(
            "rate_limited",
            "Too many frames; slow down and retry.",
            inbound.frame_id(text_data, self.max_bytes),
        )
        if self.refusals >= settings.PARLEY["WS_FLOOD_CLOSE_AFTER"]:
            self.inbox.close()  # what the flood queued is dropped unhandled
            await self.close(code=CLOSE_FLOOD)
            return
        # What it queued waits until it has kept within its rate long enough to refill the
        # burst, instead of taking the database thread from everyone else meanwhile.
        self.inbox.pause(self.bucket.time_to_full())

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.actor is not None:
            self.inbox.close()
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "actor", None) is not None and not getattr(self, "_uncounted", False):
            self._uncounted = True  # disconnect can run twice (close, then the server's)
            metrics.SOCKETS.labels(endpoint=self.endpoint).dec()
        await layer_leave(self.channel_layer, self.channel_name, self.push.close())
        if getattr(self, "lease", None) is not None:
            self.lease.release()

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """A direct reply: declared in chat.events like every frame a socket gets."""
        events.check(frame)
        await self._send_json(frame)

    async def _send_json(self, frame: dict[str, Any]) -> None:
        if self.peer_gone:
            return
        try:
            await self.send(text_data=json.dumps(frame, separators=(",", ":"), default=str))
        except CONNECTION_GONE:
            # The client left while this frame was being made (a hello it stopped waiting
            # for, a pong after a tab closed): websocket.disconnect follows and cleans up.
            self.peer_gone = True

    async def close(self, code: Any = None, reason: str | None = None) -> None:
        try:
            await super().close(code=code, reason=reason)
        except CONNECTION_GONE:
            self.peer_gone = True  # closed already: what we meant to do

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
            frame = json.loads(text_data, parse_int=inbound.parse_int)
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
        if "id" in frame and (not isinstance(ref, (str, int)) or isinstance(ref, bool)):
            # Run anyway, its reply could not be matched to it: the client would wait on it.
            await self.send_error(
                "invalid_field", "A frame's 'id' is a string or an integer.", None, "id"
            )
            return
        try:
            inbound.check(frame)  # depth, unstorable characters, integers past 64 bits
        except ValidationError as exc:
            await self.send_error(exc.code, exc.message, inbound.safe_ref(ref), exc.field)
            return
        handler_name = self.handlers.get(frame["type"])
        if handler_name is None:
            await self.send_error("unknown_type", f"Unknown frame type {frame['type']!r}.", ref)
            return
        try:
            with logcontext.bound(**self.log_ids(frame)):
                await getattr(self, handler_name)(frame, ref)
        except ParleyError as exc:
            await self.send_error(exc.code, exc.message, ref, exc.field)
        except Exception:
            logger.exception("frame %s failed", frame.get("type"))
            await self.send_error("internal", "The server failed on this frame; retry.", ref)

    def log_ids(self, frame: dict[str, Any]) -> dict[str, Any]:
        """The ids this frame's log lines carry (logcontext): never an address."""
        ids: dict[str, Any] = {"socket": self.endpoint, "frame": frame["type"]}
        if self.actor.user is not None:
            ids["agent"] = self.actor.user.pk
        if self.actor.customer is not None:
            ids["customer"] = self.actor.customer.pk
        conversation = frame.get("conversation")
        if isinstance(conversation, int) and not isinstance(conversation, bool):
            ids["conversation"] = conversation
        return ids

    # --- layer events ------------------------------------------------------------------
    async def parley_event(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        if self.sent.repeat(frame):
            return
        if frame.get("type") == "conversation.updated":
            # Participants may have changed: re-read the typing fan-out on next use.
            self.typing_targets.pop(frame["conversation"]["id"], None)
        elif frame.get("type") == "message.new":
            metrics.message_delivered(frame["message"].get("created_at"))
        await self.inbox.deliver(frame)  # checked against chat.events when it was published

    # --- frames ------------------------------------------------------------------------
    async def on_ping(self, frame: dict, ref: Any) -> None:
        await self.lease.renew_if_due()
        state = await self.ping_state()
        await self.send_frame(
            {"type": "pong", "ref": ref, "t": frame.get("t"), "server_time": time.time(),
             "push": self.push.live, **state}
        )  # fmt: skip

    async def ping_state(self) -> dict[str, Any]:
        """The pong's fields besides the echo (a subclass may answer without the database)."""
        return await db(self.ping_sync)()

    def snapshot_sync(self) -> dict[str, Any]:
        """What hello carries beside the protocol's fields (subclasses add theirs)."""
        return session_snapshot(actor=self.actor)

    def ping_sync(self) -> dict[str, Any]:
        """A ping's database work, in one hop: subclasses add their bookkeeping and their
        own fields of the pong."""
        return {"last_seq": selectors.open_conversation_tops(actor=self.actor)}

    async def on_message_send(self, frame: dict, ref: Any) -> None:
        started = time.perf_counter()
        conversation_id = field_int(frame, "conversation")
        message, created = await db(flows.message_send)(
            actor=self.actor,
            conversation_id=conversation_id,
            body=frame.get("body"),
            client_msg_id=frame.get("client_msg_id"),
            choice=frame.get("choice"),  # a bot button's id; the service validates it
            attachments=frame.get("attachments"),  # uploaded ids; the service checks them
        )
        # Sent only now, after commit: an accepted message is durable.
        await self.send_frame(accepted_frame(ref, message, created))
        metrics.SEND_LATENCY.observe(time.perf_counter() - started)

    async def on_resume(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        after_seq = field_int(frame, "after_seq")
        limit = settings.PARLEY["RESUME_PAGE_SIZE"]
        payload = await db(resume_page)(
            actor=self.actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
        )
        await self.send_frame({"type": "messages.batch", "ref": ref, **payload})

    async def on_receipt(self, frame: dict, ref: Any) -> None:
        await db(services.receipt_update)(
            actor=self.actor,
            conversation_id=field_int(frame, "conversation"),
            delivered_seq=frame.get("delivered_seq"),
            read_seq=frame.get("read_seq"),
        )

    async def on_typing(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        target = self.typing_targets.get(conversation_id)
        if target is None:
            # One permission check per conversation per socket, not one per keystroke.
            target = await db(services.typing_target)(
                actor=self.actor, conversation_id=conversation_id
            )
            self.typing_targets[conversation_id] = target
        typing = services.typing_frame(
            conversation_id=conversation_id, target=target, state=frame.get("state")
        )
        await realtime.apublish_ephemeral(target["groups"], typing)

    async def on_conversation_resolve(self, frame: dict, ref: Any) -> None:
        conversation = await db(flows.conversation_resolve)(
            actor=self.actor, conversation_id=field_int(frame, "conversation")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )


def accepted_frame(ref: Any, message: Any, created: bool) -> dict[str, Any]:
    """The answer to a stored message.send (or to conversation.start's first message)."""
    return {
        "type": "message.accepted",
        "ref": ref,
        "conversation": message.conversation_id,
        "client_msg_id": message.client_msg_id,
        "message_id": message.pk,
        "seq": message.seq,
        "created_at": message.created_at.isoformat(),
        "duplicate": not created,
    }
