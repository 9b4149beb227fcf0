"""How a step ends the bot's part: a handoff to routing, an end node (with its CSAT
question), a resolution."""

from __future__ import annotations

import logging
from typing import Any

from bots.handoff_queues import handoff_queue_find
from bots.models import BotSession, Flow
from bots.person_request import HANDOFF_TEXT
from bots.services.engine_answers import handoff_summary, rating
from bots.services.engine_base import ACTOR, StepBase
from chat.models import Conversation, Note
from chat.services import conversation_transition, event_message_post, event_record, note_create
from routing.models import Queue
from routing.selectors import handoff_outlook
from routing.services import conversation_enqueue

logger = logging.getLogger(__name__)

# No ``labels`` (docs/protocol.md, "Bot messages"): a digit reads the same in every language.
CSAT_BUTTONS = [{"id": str(n), "label": str(n)} for n in range(1, 6)]
PERSON_REASON = "customer asked for a person"


def enqueue(
    *,
    conversation: Conversation,
    reason: str,
    queue: Queue | None,
    priority: int,
    skills: list[str],
) -> bool:
    """Hand the conversation to routing (on the row the caller locked); True: routing
    stored the priority."""
    conversation_enqueue(
        conversation=conversation, reason=reason, queue=queue, priority=priority, skills=skills
    )
    return True


class StepEndings(StepBase):
    """The endings of a step (the step machine, engine_step, decides when)."""

    def handoff_queue(self, node: dict[str, Any]) -> Queue | None:
        """The active queue the node names. Saving a flow refuses a name that matches none,
        but a published version outlives its queues: when one was deleted or deactivated
        since, the handoff still happens, to the conversation's or the site's default queue
        (enqueue with None), and the server log says why."""
        if node.get("queue"):
            queue = handoff_queue_find(node["queue"])
            if queue is None:
                logger.warning(
                    "bot flow %s names a missing or inactive queue %r: handing off to the "
                    "default queue",
                    self.session.version,
                    node["queue"],
                )
            return queue
        return None

    def handoff_text(self, node: dict[str, Any]) -> str:
        """The flow's hand-off text, unless nobody can join now: then the bot says so
        rather than promise an agent the queue banner will say is not there."""
        queue = (
            self.handoff_queue(node)
            or self.conversation.queue
            or self.conversation.site.default_queue
        )
        skills = list(node.get("skills") or [])
        if queue is not None and handoff_outlook(queue=queue, skills=skills, now=self.now):
            return self.text(node.get("offline_text"), "handoff_offline")
        return self.text(node.get("text"))

    def handoff(self, node: dict[str, Any], *, reason: str) -> None:
        self.session.state = BotSession.State.HANDED_OFF
        self.session.awaiting = ""
        queue = self.handoff_queue(node)
        priority = self.conversation.priority
        if node.get("priority") is not None:
            priority = max(priority, node["priority"])
        skills = list(node.get("skills") or [])
        if queue is not None:
            self.conversation.queue = queue
        if priority != self.conversation.priority:
            self.conversation.priority = priority
            self.priority_dirty = True
        self.flush()  # the customer is up to date before anyone is told
        collected = dict(self.session.attributes)
        summary = handoff_summary(collected, self.session.intent, queue.name if queue else None)
        if enqueue(
            conversation=self.conversation,
            reason=reason,
            queue=queue,
            priority=priority,
            skills=skills,
        ):
            self.priority_dirty = False  # routing stored it with the status change
        # For the agents only, after the enqueue so that it reaches the waiting room's
        # consoles (and the agent offered it): the customer never sees the summary.
        note_create(
            conversation=self.conversation,
            kind=Note.Kind.HANDOFF,
            author_name="Parley bot",
            body=summary,
            data={
                "collected": collected,
                "intent": self.session.intent or None,
                "tags": list(self.session.tags),
                "queue": queue.name if queue else None,
                "skills": skills,
                "priority": priority,
                "flow": {"slug": self.flow.slug, "version": self.session.version.number},
            },
        )
        self.status_changed = True

    def person_handoff(self) -> None:
        """The customer asked for a person: the handoff a node without a queue makes (the
        conversation's queue, else the site's default), with the same outlook-aware
        goodbye, summary note and timeline entry as any handoff."""
        self.say(self.handoff_text({"text": HANDOFF_TEXT}))
        self.handoff({}, reason=PERSON_REASON)

    def hand_off_now(self, *, queue: Queue | None, reason: str) -> None:
        """People take over at someone else's word (a supervisor, an integration): the
        same goodbye, summary note and timeline as the flow's own handoff, to ``queue``
        or the conversation's (else the site's default)."""
        # Named even when the caller named none, so the agents' summary says where it went.
        queue = queue or self.conversation.queue or self.conversation.site.default_queue
        node = {"text": HANDOFF_TEXT, **({"queue": queue.name} if queue else {})}
        self.say(self.handoff_text(node))
        self.handoff(node, reason=reason)

    def end(self, node_id: str, node: dict[str, Any]) -> None:
        self.say(self.text(node["text"]))
        if node.get("csat"):
            self.say(
                self.text(node.get("csat_text"), "csat"), {"buttons": CSAT_BUTTONS, "csat": True}
            )
            return self.wait(node_id, "csat")
        self.resolve()

    def csat(self, node: dict[str, Any], *, body: str, choice: str | None) -> None:
        score = rating(choice) or rating(body)
        if score is None:
            self.session.retries += 1
            if self.session.retries <= 1:
                self.say(
                    self.text(node.get("csat_text"), "csat"),
                    {"buttons": CSAT_BUTTONS, "csat": True},
                )
                return None
        else:
            self.collect("csat", score)
            event_record(
                conversation=self.conversation,
                type="csat.submitted",
                actor=ACTOR,
                reason=f"rated {score}/5 at the end of the bot flow",
                data={"score": score, "source": "bot"},
            )
            self.say(self.text(node.get("thanks_text"), "thanks"))
        return self.resolve()

    def resolve(self) -> None:
        self.session.state = BotSession.State.ENDED
        self.session.awaiting = ""
        conversation_transition(
            conversation=self.conversation,
            to_status=Conversation.Status.RESOLVED,
            reason="resolved by the bot flow",
            actor=ACTOR,
            resolved_at=self.now,
        )
        event_message_post(
            conversation=self.conversation,
            body="Conversation resolved by the bot.",
            data={"line": "resolved_bot"},
        )
        self.status_changed = True
        if self.flow.goal == Flow.Goal.RESOLVED:
            self.goal()
