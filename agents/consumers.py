"""The agent console's socket (Django session): the protocol of chat.consumers plus the
console's own frames: take, the undo of a resolve, presence, offers and transfers. What it
does to routing goes through chat.flows, which actions/ binds to actions.agents at
start-up."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from agents import canned, heartbeats
from chat import context, recipients, selectors, suggest
from chat.actors import Actor
from chat.consumers import CLOSE_UNAUTHENTICATED, ParleyConsumer
from chat.dbcalls import db
from chat.exceptions import AuthenticationFailed, PermissionDenied
from chat.flows import flows
from chat.inbound import field_int
from chat.payloads import note_payload
from chat.services.notes import note_add
from chat.services.translation_requests import message_translation_request

logger = logging.getLogger(__name__)


class AgentConsumer(ParleyConsumer):
    endpoint = "agent"
    handlers = {
        **ParleyConsumer.handlers,
        "conversation.take": "on_conversation_take",
        "conversation.unresolve": "on_conversation_unresolve",
        "presence.set": "on_presence_set",
        "reservation.accept": "on_reservation_accept",
        "reservation.decline": "on_reservation_decline",
        "conversation.transfer": "on_conversation_transfer",
        "note.add": "on_note_add",
        "notes.fetch": "on_notes_fetch",
        "context.fetch": "on_context_fetch",
        "past.fetch": "on_past_fetch",
        "transfer.options": "on_transfer_options",
        "canned.list": "on_canned_list",
        "canned.save": "on_canned_save",
        "canned.delete": "on_canned_delete",
        "search": "on_search",
        "customer.nudge": "on_customer_nudge",
        "suggest": "on_suggest",
        "conversation.invite": "on_conversation_invite",
        "conversation.leave": "on_conversation_leave",
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

    async def parley_event(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        if frame.get("type") == "session.ended":
            # The account was deactivated: this socket was authenticated when it opened and
            # would otherwise keep working. Said, then closed as a session that is gone.
            await self.send_frame(frame)
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await super().parley_event(event)

    async def on_conversation_take(self, frame: dict, ref: Any) -> None:
        conversation = await db(flows.conversation_take)(
            actor=self.actor, conversation_id=field_int(frame, "conversation")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )

    async def on_conversation_unresolve(self, frame: dict, ref: Any) -> None:
        conversation = await db(flows.conversation_unresolve)(
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
            heartbeats.buffer.ended(self.channel_name)
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
        presence = await db(flows.agent_presence_set)(
            actor=self.actor, status=frame.get("status"), away_reason=frame.get("away_reason")
        )
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
            reason=frame.get("reason"),
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
            note=frame.get("note"),
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )

    # --- internal notes (agents only; the widget's socket has no such frames) ----------
    async def on_note_add(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        note, created = await db(note_add)(
            actor=self.actor,
            conversation_id=conversation_id,
            body=frame.get("body"),
            client_note_id=frame.get("client_note_id"),
        )
        await self.send_frame(
            {
                "type": "note.accepted",
                "ref": ref,
                "conversation": conversation_id,
                "note": note_payload(note),
                "duplicate": not created,
            }
        )

    async def on_notes_fetch(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        after = field_int(frame, "after", required=False) or 0
        limit = settings.PARLEY["RESUME_PAGE_SIZE"]
        conversation, notes = await db(selectors.notes_for_actor)(
            actor=self.actor, conversation_id=conversation_id, after_id=after, limit=limit
        )
        await self.send_frame(
            {
                "type": "notes.batch",
                "ref": ref,
                "conversation": conversation.pk,
                "notes": [note_payload(n) for n in notes],
                "has_more": len(notes) == limit,
            }
        )

    # --- the context panel ---------------------------------------------------------------
    async def on_context_fetch(self, frame: dict, ref: Any) -> None:
        panel = await db(context.conversation_context)(
            actor=self.actor, conversation_id=field_int(frame, "conversation")
        )
        await self.send_frame({"type": "conversation.context", "ref": ref, **panel})

    async def on_past_fetch(self, frame: dict, ref: Any) -> None:
        past = await db(context.past_transcript)(
            actor=self.actor,
            conversation_id=field_int(frame, "conversation"),
            past_id=field_int(frame, "past"),
        )
        await self.send_frame({"type": "past.transcript", "ref": ref, **past})

    async def on_transfer_options(self, frame: dict, ref: Any) -> None:
        targets = await db(flows.transfer_targets)(
            actor=self.actor, conversation_id=field_int(frame, "conversation")
        )
        await self.send_frame({"type": "transfer.targets", "ref": ref, **targets})

    # --- canned replies --------------------------------------------------------------------
    async def on_canned_list(self, frame: dict, ref: Any) -> None:
        replies = await db(canned.canned_list)(actor=self.actor)
        await self.send_frame({"type": "canned.replies", "ref": ref, "replies": replies})

    async def on_canned_save(self, frame: dict, ref: Any) -> None:
        reply = await db(canned.canned_save)(
            actor=self.actor,
            reply_id=field_int(frame, "reply", required=False),
            shortcut=frame.get("shortcut"),
            title=frame.get("title"),
            body=frame.get("body"),
            shared=frame.get("shared", False),
            site_id=field_int(frame, "site", required=False),
        )
        await self.send_frame(
            {"type": "canned.saved", "ref": ref, "reply": canned.canned_payload(reply)}
        )

    async def on_canned_delete(self, frame: dict, ref: Any) -> None:
        reply_id = field_int(frame, "reply")
        await db(canned.canned_delete)(actor=self.actor, reply_id=reply_id)
        await self.send_frame({"type": "canned.deleted", "ref": ref, "id": reply_id})

    async def on_search(self, frame: dict, ref: Any) -> None:
        query = frame.get("query")
        results = await db(context.conversation_search)(actor=self.actor, query=query)
        await self.send_frame(
            {"type": "search.results", "ref": ref, "query": query, "results": results}
        )

    async def on_customer_nudge(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        await db(flows.customer_nudge)(actor=self.actor, conversation_id=conversation_id)
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation_id}
        )

    async def on_suggest(self, frame: dict, ref: Any) -> None:
        conversation_id = field_int(frame, "conversation")
        prefix = frame.get("prefix")
        found = await db(suggest.suggestions_for)(
            actor=self.actor, conversation_id=conversation_id, prefix=prefix
        )
        await self.send_frame(
            {
                "type": "suggestions",
                "ref": ref,
                "conversation": conversation_id,
                "prefix": prefix,
                "suggestions": found,
            }
        )

    # --- group conversations ---------------------------------------------------------------
    async def on_conversation_invite(self, frame: dict, ref: Any) -> None:
        conversation = await db(flows.conversation_invite)(
            actor=self.actor,
            conversation_id=field_int(frame, "conversation"),
            user_id=field_int(frame, "agent"),
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )

    async def on_conversation_leave(self, frame: dict, ref: Any) -> None:
        conversation = await db(flows.conversation_leave)(
            actor=self.actor, conversation_id=field_int(frame, "conversation")
        )
        await self.send_frame(
            {"type": "ack", "ref": ref, "for": frame["type"], "conversation": conversation.pk}
        )
