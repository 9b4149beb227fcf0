"""The agent console's socket (Django session): the protocol of chat.consumers plus the
console's own frames: take, presence, offers and transfers. What it does to routing goes
through chat.flows, which actions/ binds to actions.agents at start-up."""

from __future__ import annotations

import logging
from typing import Any

from chat import recipients, selectors
from chat.actors import Actor
from chat.consumers import ParleyConsumer
from chat.dbcalls import db
from chat.exceptions import AuthenticationFailed, PermissionDenied
from chat.flows import flows
from chat.inbound import field_int
from chat.services.translation_requests import message_translation_request

logger = logging.getLogger(__name__)


class AgentConsumer(ParleyConsumer):
    handlers = {
        **ParleyConsumer.handlers,
        "conversation.take": "on_conversation_take",
        "presence.set": "on_presence_set",
        "reservation.accept": "on_reservation_accept",
        "reservation.decline": "on_reservation_decline",
        "conversation.transfer": "on_conversation_transfer",
        "message.translate": "on_message_translate",
    }

    async def authenticate(self) -> Actor:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise AuthenticationFailed("Log in to use the console.")
        if not await db(selectors.user_is_agent)(user):
            raise PermissionDenied("This account is not an agent.")
        return Actor.for_agent(user)

    def principal_groups(self) -> list[str]:
        return [recipients.user_group(self.actor.user.pk), recipients.AGENTS_GROUP]

    async def on_conversation_take(self, frame: dict, ref: Any) -> None:
        conversation = await db(flows.conversation_take)(
            actor=self.actor, conversation_id=field_int(frame, "conversation")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )

    async def on_message_translate(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        status = await db(message_translation_request)(
            actor=self.actor,
            conversation_id=conversation_id,
            seq=field_int(frame, "seq"),
            language=frame.get("language"),
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation_id,
             "status": status}
        )  # fmt: skip

    # --- routing: presence, heartbeats, offers, transfers ------------------------------
    async def connect(self) -> None:
        await super().connect()  # hello: conversations, open offers, stored presence
        if self.actor is not None:
            # Live from now on; agent.presence and any new offers follow on the user group.
            await db(flows.agent_console_connect)(
                user=self.actor.user, channel_name=self.channel_name
            )

    async def disconnect(self, code: int) -> None:
        # Groups first: a handler killed at daphne's close timeout while it waits for the
        # database must not leave its subscriptions behind.
        await super().disconnect(code)
        if self.actor is not None:
            try:
                await db(flows.agent_console_disconnect)(
                    user_id=self.actor.user.pk, channel_name=self.channel_name
                )
            except Exception:  # the heartbeat sweeper reaches the same state
                logger.warning("console disconnect bookkeeping failed", exc_info=True)

    def snapshot_sync(self) -> dict[str, Any]:
        return flows.console_snapshot(actor=self.actor)

    def ping_sync(self) -> dict[str, Any]:
        # A console ping is the agent's heartbeat (it keeps them eligible for offers), and
        # its pong lists the agent's open offers (see actions.agents.agent_heartbeat).
        beat = flows.agent_heartbeat_soon(user=self.actor.user, channel_name=self.channel_name)
        return super().ping_sync() | beat

    async def on_presence_set(self, frame: dict, ref: Any) -> None:
        presence = await db(flows.agent_presence_set)(actor=self.actor, status=frame.get("status"))
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "status": presence.status}
        )

    async def on_reservation_accept(self, frame: dict, ref: Any) -> None:
        reservation_id = field_int(frame, "reservation")
        conversation = await db(flows.reservation_accept)(
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
        reservation = await db(flows.reservation_decline)(
            actor=self.actor,
            reservation_id=field_int(frame, "reservation"),
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
        conversation = await db(flows.conversation_transfer)(
            actor=self.actor,
            conversation_id=field_int(frame, "conversation"),
            to_agent_id=field_int(frame, "to_agent", required=False),
            to_queue_id=field_int(frame, "to_queue", required=False),
            note=frame.get("note") or "",
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )
