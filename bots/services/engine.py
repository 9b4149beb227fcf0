"""The flow engine: one step per customer action, server-side.

A step runs inside the caller's transaction on a conversation row the caller has locked
(conversation_start, message_send), so steps of one conversation are serialised and the
session's state commits together with the customer's message: a crash loses neither or
both, and a restarted process simply continues from the stored node. A retried send (same
client_msg_id) never reaches the engine, so a retry never runs a step twice.

A step consumes the customer's action at the waiting node (choice, input, intent, CSAT),
then advances through the nodes that need no answer (message, condition, action) until the
next waiting node, a handoff or an end. Bot replies are normal messages (kind "bot") with
their buttons and input hints in ``data``; they reach sockets after commit like any other.

This module holds the entry points. The step itself: engine_step (the step machine and the
node handlers), engine_endings (handoff, end, CSAT, resolve), engine_base (the step's
state, output and closing); engine_answers reads answers (pure functions).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone

from bots.models import BotSession, FlowVersion
from bots.services.engine_base import ACTOR, version_graph
from bots.services.engine_endings import enqueue
from bots.services.engine_step import Step
from chat.exceptions import Conflict
from chat.models import Conversation, Message
from chat.services import conversation_publish, event_record
from routing.models import Queue


def bot_session_start(
    *, conversation: Conversation, now: datetime | None = None
) -> BotSession | None:
    """Start the site's default flow (its published version) on a new, locked conversation,
    or hand it to routing at once when there is none. conversation_start publishes."""
    now = now or timezone.now()
    version = None
    if conversation.site.default_flow_id:
        # One query for the site's flow's published version; graphs come from the cache.
        version = (
            FlowVersion.objects.select_related("flow")
            .defer("graph", "flow__draft", "flow__description")
            .filter(flow_id=conversation.site.default_flow_id, flow__published_version=F("pk"))
            .first()
        )
    if version is None:
        enqueue(
            conversation=conversation,
            reason="no bot flow: handed to routing",
            queue=None,
            priority=conversation.priority,
            skills=[],
        )
        return None
    session = BotSession.objects.create(
        conversation=conversation, version=version, node=version_graph(version)[0]["start"]
    )
    event_record(
        conversation=conversation,
        type="bot.started",
        actor=ACTOR,
        reason=f"flow {version.flow.slug} v{version.number}",
        data={"flow": version.flow.slug, "version": version.number},
    )
    step = Step(session=session, conversation=conversation, now=now)
    step.enter(session.node)
    return step.finish(publish=False)


def _session(conversation: Conversation) -> BotSession | None:
    return (
        BotSession.objects.select_related("version__flow", "bot_participant")
        # The graphs are cached per version; a flow's draft is never needed here.
        .defer("version__graph", "version__flow__draft", "version__flow__description")
        .filter(conversation=conversation)
        .first()
    )


def bot_session_hand_off(
    *,
    conversation: Conversation,
    reason: str,
    queue: Queue | None = None,
    now: datetime | None = None,
) -> BotSession | None:
    """Hand a conversation the bot is serving (locked by the caller) to people now: the
    bot says its handoff line and stops, and routing takes over with the bot's summary
    for the agents, as the flow's own handoff does. Conflict unless it is with the bot."""
    if conversation.status != Conversation.Status.BOT:
        raise Conflict("The conversation is not with the bot.", code="not_with_bot")
    now = now or timezone.now()
    session = _session(conversation)
    if session is None or session.state != BotSession.State.ACTIVE:
        enqueue(conversation=conversation, reason=reason, queue=queue,
                priority=conversation.priority, skills=[])  # fmt: skip
        conversation_publish(conversation=conversation)
        return session
    step = Step(session=session, conversation=conversation, now=now)
    step.hand_off_now(queue=queue, reason=reason)
    return step.finish(publish=True)


def bot_session_advance(
    *,
    conversation: Conversation,
    message: Message,
    choice: str | None = None,
    now: datetime | None = None,
) -> BotSession | None:
    """One step for one customer action (a message, maybe a button click), on a
    conversation in status "bot" that the caller has locked."""
    if conversation.status != Conversation.Status.BOT:
        return None
    now = now or timezone.now()
    session = _session(conversation)
    if session is None or session.state != BotSession.State.ACTIVE:
        # A bot conversation without a running flow (data from before flows existed).
        enqueue(
            conversation=conversation,
            reason="no running bot session: handed to routing",
            queue=None,
            priority=conversation.priority,
            skills=[],
        )
        conversation_publish(conversation=conversation)
        return session
    step = Step(session=session, conversation=conversation, now=now)
    step.answer(body=message.body, choice=choice)
    return step.finish(publish=True)
