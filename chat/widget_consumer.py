"""The customer widget's socket (a visitor token): the protocol of chat.consumers plus
starting a conversation, the waiting line, and presence kept off the database."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from chat import recipients, selectors, services
from chat.actors import Actor
from chat.consumers import ParleyConsumer, accepted_frame
from chat.dbcalls import db
from chat.exceptions import ParleyError, PermissionDenied, ValidationError
from chat.flows import flows
from chat.models import Conversation
from chat.payloads import conversation_payload
from chat.services import seen


class WidgetConsumer(ParleyConsumer):
    endpoint = "widget"
    handlers = {**ParleyConsumer.handlers, "conversation.start": "on_conversation_start"}

    async def authenticate(self) -> Actor:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        customer = await db(selectors.customer_get_from_token)(token=token)
        headers = dict(self.scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode() or None
        # The widget's frame connects from Parley's own origin; its token was issued only
        # for an embedding origin the site allows (visitor_session_create).
        own_host = headers.get(b"host", b"").decode()
        if services.is_own_origin(origin=origin, own_host=own_host):
            return Actor.for_customer(customer)
        if not customer.site.origin_allowed(origin):
            raise PermissionDenied(
                "This origin may not embed the widget.", code="origin_not_allowed"
            )
        return Actor.for_customer(customer)

    def principal_groups(self) -> list[str]:
        return [recipients.customer_group(self.actor.customer.pk)]

    # --- presence and the waiting line. An idle widget costs the database nothing: its
    # sign of life is noted in memory and stored in batches (chat.services.seen), and its
    # pings answer from what the socket knows (no open conversation: nothing to check).
    def snapshot_sync(self) -> dict[str, Any]:
        snapshot = super().snapshot_sync()
        # An open incident's notice (supervision.status; cached per process).
        snapshot["service"] = flows.service_notice(site_id=self.actor.customer.site_id)
        self.open_conversations = {
            c["id"] for c in snapshot["conversations"] if c["status"] in Conversation.OPEN_STATUSES
        }
        self.waiting = any(
            c["status"] in Conversation.WAITING_STATUSES for c in snapshot["conversations"]
        )
        # A waiting customer who connects sees their place in line at once: read in the
        # snapshot's own database call (in a reconnect storm every hop a connect saves is
        # thousands), sent after hello.
        if self.connecting and self.waiting:
            self.positions = flows.queue_positions(actor=self.actor)
        return snapshot

    async def connect(self) -> None:
        self.open_conversations: set[int] = set()
        self.waiting = False
        self.connecting, self.positions = True, []
        await super().connect()
        self.connecting = False
        if self.actor is not None:
            seen.customer_seen_soon(customer_id=self.actor.customer.pk)
            for position in self.positions:
                await self.send_frame(position)
            self.positions = []

    async def disconnect(self, code: int) -> None:
        # Groups first: a handler killed at daphne's close timeout must not leave its
        # subscriptions behind while it waits for anything else.
        await super().disconnect(code)
        if self.actor is not None:
            seen.customer_seen_soon(customer_id=self.actor.customer.pk)

    async def ping_state(self) -> dict[str, Any]:
        seen.customer_seen_soon(customer_id=self.actor.customer.pk)
        if not self.open_conversations:
            return {"last_seq": {}}
        return await super().ping_state()

    async def parley_event(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        if frame.get("type") == "conversation.updated":
            self._track(frame["conversation"])
        elif frame.get("type") == "message.new":  # a lost snapshot must not hide a chat
            self.open_conversations.add(frame["message"]["conversation"])
        await super().parley_event(event)

    def _track(self, conversation: dict[str, Any]) -> None:
        if conversation["status"] in Conversation.OPEN_STATUSES:
            self.open_conversations.add(conversation["id"])
        else:
            self.open_conversations.discard(conversation["id"])

    async def on_conversation_start(self, frame: dict, ref: Any) -> None:
        headers = dict(self.scope.get("headers", []))
        visit = services.clean_visit(
            page_url=frame.get("page_url"),
            referrer=frame.get("referrer"),
            user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
        )
        first = first_message(frame)
        start_args = {
            "actor": self.actor,
            "language": frame.get("language"),
            "subject": frame.get("subject"),
            "visit": visit,
        }

        def start() -> tuple[dict[str, Any], Any]:
            sent = None
            if first is None:
                conversation, created = flows.conversation_start(**start_args)
            else:
                conversation, created, sent = flows.conversation_start_with_message(
                    message=first, **start_args
                )
            payload = {"conversation": conversation_payload(conversation), "created": created}
            return payload, sent

        payload, sent = await db(start)()
        self._track(payload["conversation"])
        await self.send_frame({"type": "conversation.started", "ref": ref, **payload})
        # The first message's own answer, as a message.send's, to the id it came with.
        if isinstance(sent, ParleyError):
            await self.send_error(sent.code, sent.message, first["id"], sent.field)
        elif sent is not None:
            await self.send_frame(accepted_frame(first["id"], *sent))
        position = await db(flows.queue_position)(conversation_id=payload["conversation"]["id"])
        if position is not None:
            await self.send_frame(position)


def first_message(frame: dict[str, Any]) -> dict[str, Any] | None:
    """conversation.start's optional first message: message.send's fields and its own
    `id` (the ref of its answer), or None."""
    if "message" not in frame:
        return None
    first = frame["message"]
    if not isinstance(first, dict):
        raise ValidationError(
            "'message' is an object: the first message's id, client_msg_id and body.",
            field="message",
        )
    ref = first.get("id")
    if not isinstance(ref, (str, int)) or isinstance(ref, bool):
        raise ValidationError(
            "The first message needs its own 'id' (a string or an integer): its answer's ref.",
            field="message.id",
        )
    return first
