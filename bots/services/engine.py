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
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import F
from django.utils import timezone

from bots.graph import DEFAULT_THRESHOLD, node_view, text_for
from bots.intents import classify, normalize
from bots.models import BotSession, Flow, FlowVersion
from bots.services.leads import customer_attributes_store, lead_contact
from bots.services.variants import variant_pick, variants_convert
from chat import realtime
from chat.models import Conversation, Message, Participant
from chat.selectors import participant_groups
from chat.services import (
    conversation_publish,
    conversation_transition,
    event_message_post,
    event_record,
    message_create,
)
from chat.services.fanout import viewers
from routing.models import Queue
from routing.services import conversation_enqueue

logger = logging.getLogger(__name__)

ACTOR = "bot"
MAX_AUTO_NODES = 50  # validation forbids auto-only cycles; this guards old data anyway
CSAT_BUTTONS = [{"id": str(n), "label": str(n)} for n in range(1, 6)]
DEFAULT_TEXTS = {
    "retry_choice": {
        "en": "Please pick one of the options.",
        "fr": "Choisissez l'une des options.",
        "it": "Scegli una delle opzioni.",
        "es": "Elige una de las opciones.",
        "de": "Bitte wählen Sie eine der Optionen.",
    },
    "retry_input": {
        "en": "Sorry, that doesn't look right. Could you try again?",
        "fr": "Désolé, cela ne semble pas correct. Pouvez-vous réessayer ?",
        "it": "Scusa, non sembra corretto. Puoi riprovare?",
        "es": "Perdona, eso no parece correcto. ¿Puedes intentarlo de nuevo?",
        "de": "Entschuldigung, das scheint nicht zu stimmen. Bitte versuchen Sie es erneut.",
    },
    "clarify": {
        "en": "Sorry, I'm not sure I understood. Is it one of these?",
        "fr": "Désolé, je ne suis pas sûr d'avoir compris. Est-ce l'un de ces sujets ?",
        "it": "Scusa, non sono sicuro di aver capito. Si tratta di uno di questi?",
        "es": "Perdona, no estoy seguro de haberlo entendido. ¿Es alguno de estos?",
        "de": "Entschuldigung, ich habe das nicht sicher verstanden. Ist es eines davon?",
    },
    "csat": {
        "en": "How would you rate this chat, from 1 (poor) to 5 (great)?",
        "fr": "Comment notez-vous cette conversation, de 1 à 5 ?",
        "it": "Come valuti questa chat, da 1 a 5?",
        "es": "¿Cómo valorarías este chat, de 1 a 5?",
        "de": "Wie bewerten Sie diesen Chat, von 1 bis 5?",
    },
    "thanks": {
        "en": "Thank you!",
        "fr": "Merci !",
        "it": "Grazie!",
        "es": "¡Gracias!",
        "de": "Danke!",
    },
}

SESSION_FIELDS = [
    "bot_participant", "node", "awaiting", "retries", "state", "attributes", "tags", "intent",
    "variants", "path", "steps", "goal_reached_at", "lead_captured_at", "updated_at",
]  # fmt: skip
# Published versions never change, so their graphs are cached per process. The key is the
# id with the creation time: an id alone can repeat (SQLite reuses the ids of rolled-back
# rows, and the cache then served one test's graph to the next), the pair cannot.
_graphs: dict[tuple[int, datetime], dict[str, Any]] = {}


def _graph(version: FlowVersion) -> dict[str, Any]:
    key = (version.pk, version.created_at)
    graph = _graphs.get(key)
    if graph is None:
        graph = FlowVersion.objects.values_list("graph", flat=True).get(pk=version.pk)
        if len(_graphs) > 512:
            _graphs.clear()
        _graphs[key] = graph
    return graph


def _enqueue(
    *, conversation: Conversation, reason: str, queue, priority: int, skills: list[str]
) -> bool:
    """Hand the conversation to routing (on the row the caller locked); True: routing
    stored the priority."""
    conversation_enqueue(
        conversation=conversation, reason=reason, queue=queue, priority=priority, skills=skills
    )
    return True


class _Step:
    """One engine step on one locked conversation."""

    def __init__(self, *, session: BotSession, conversation: Conversation, now: datetime):
        self.session = session
        self.conversation = conversation
        self.now = now
        self.graph = _graph(session.version)
        self.nodes: dict[str, Any] = self.graph["nodes"]
        self.default_language = self.graph.get("default_language", "en")
        self.language = (
            conversation.language or conversation.customer.locale or self.default_language
        )
        self.flow: Flow = session.version.flow
        self.bot: Participant | None = session.bot_participant
        self.priority_dirty = False
        self.collected: dict[str, Any] = {}  # new this step: flushed to the customer once
        self.status_changed = False
        self._audience: list | None = None

    # --- output --------------------------------------------------------------------------
    def text(self, value: Any, fallback_key: str | None = None) -> str:
        found = text_for(value, self.language, self.default_language)
        if not found and fallback_key:
            found = text_for(DEFAULT_TEXTS[fallback_key], self.language, "en")
        return found

    def say(self, body: str, data: dict[str, Any] | None = None) -> Message | None:
        if not body:
            return None
        if self.bot is None:
            self.bot, _ = Participant.objects.get_or_create(
                conversation=self.conversation, role=Participant.Role.BOT
            )
            self.session.bot_participant = self.bot
        data = {"node": self.session.node, **(data or {})}
        typing_ms = self.graph.get("typing_ms") or 0
        if typing_ms:
            # Configured only: the server never sleeps (speed first); it announces typing,
            # and the widget shows the indicator for typing_ms before revealing the message.
            data["typing_ms"] = typing_ms
            realtime.publish_on_commit(
                participant_groups(conversation_id=self.conversation.pk),
                {
                    "type": "typing",
                    "conversation": self.conversation.pk,
                    "participant": self.bot.pk,
                    "role": Participant.Role.BOT,
                    "name": self.bot.display_name,
                    "state": "start",
                },
            )
        return message_create(
            conversation=self.conversation,
            sender=self.bot,
            body=body,
            kind=Message.Kind.BOT,
            data=data,
            audience=self.audience(),
        )

    def audience(self) -> list:
        # Who reads this step's messages, read once per step: a step posts up to three
        # (answer, next question, hand-off summary) and nobody joins in between (agents
        # are offered the conversation after this transaction commits).
        if self._audience is None:
            self._audience = viewers(conversation=self.conversation)
        return self._audience

    def buttons(self, node: dict[str, Any]) -> list[dict[str, str]]:
        return [{"id": b["id"], "label": self.text(b["label"])} for b in node["buttons"]]

    def intent_buttons(self, node: dict[str, Any]) -> list[dict[str, str]]:
        return [{"id": i["id"], "label": self.text(i["label"])} for i in node["intents"]]

    # --- state -----------------------------------------------------------------------------
    def view(self, node_id: str) -> dict[str, Any]:
        node = self.nodes[node_id]
        variants = node.get("variants")
        if not variants:
            return node
        picked = self.session.variants.get(node_id)
        ids = [v["id"] for v in variants]
        if picked not in ids:
            picked = variant_pick(flow=self.flow, node_id=node_id, variant_ids=ids)
            self.session.variants = {**self.session.variants, node_id: picked}
        return node_view(node, picked)

    def collect(self, name: str, value: Any) -> None:
        self.session.attributes = {**self.session.attributes, name: value}
        self.collected[name] = value

    def wait(self, node_id: str, awaiting: str = "answer") -> None:
        self.session.node = node_id
        self.session.awaiting = awaiting

    # --- running ---------------------------------------------------------------------------
    def enter(self, node_id: str) -> None:
        """Run from node_id through nodes that need no answer, up to a waiting node."""
        for _ in range(MAX_AUTO_NODES):
            self.session.node = node_id
            self.session.retries = 0
            self.session.path = [*self.session.path, node_id][-200:]
            node = self.view(node_id)
            kind = node["type"]
            if kind == "message":
                self.say(self.text(node["text"]))
                node_id = node["next"]
            elif kind == "condition":
                node_id = self.evaluate(node)
            elif kind == "action":
                self.act(node)
                node_id = node["next"]
            elif kind == "choice":
                self.say(self.text(node["text"]), {"buttons": self.buttons(node)})
                return self.wait(node_id)
            elif kind == "input":
                self.say(self.text(node["text"]), {"input": _input_hint(node)})
                return self.wait(node_id)
            elif kind == "intent":
                self.say(self.text(node["text"]))
                return self.wait(node_id)
            elif kind == "handoff":
                self.say(self.text(node.get("text")))
                return self.handoff(node, reason=f"bot flow: handoff at {node_id}")
            elif kind == "end":
                return self.end(node_id, node)
        logger.error("bot flow %s loops at %s", self.session.version, node_id)
        self.handoff({}, reason="bot flow: too many steps without an answer")

    def answer(self, *, body: str, choice: str | None) -> None:
        """Consume the customer's action at the waiting node."""
        session = self.session
        node_id = session.node
        if session.state != BotSession.State.ACTIVE or node_id not in self.nodes:
            return self.handoff({}, reason="bot flow: no active step")
        node = self.view(node_id)
        kind = node["type"]
        if kind == "choice":
            button = _match_button(node["buttons"], body=body, choice=choice)
            if button is not None:
                if node.get("attribute"):
                    self.collect(node["attribute"], button["id"])
                return self.enter(button["next"])
            if node.get("fallback"):
                return self.enter(node["fallback"])
            return self.retry(node, "retry_choice", {"buttons": self.buttons(node)})
        if kind == "input":
            ok, value = validate_input(node.get("validator"), body)
            if ok:
                self.collect(node["attribute"], value)
                return self.enter(node["next"])
            return self.retry(node, "retry_input", {"input": _input_hint(node)})
        if kind == "intent":
            return self.intent(node_id, node, body=body, choice=choice)
        if kind == "end" and session.awaiting == "csat":
            return self.csat(node, body=body, choice=choice)
        self.handoff({}, reason=f"bot flow: {kind} node {node_id} cannot take an answer")

    def retry(self, node: dict[str, Any], default_key: str, data: dict[str, Any]) -> None:
        """Re-ask after an invalid answer, at most max_retries times, then move on."""
        self.session.retries += 1
        if self.session.retries > node.get("max_retries", 2):
            if node.get("on_fail"):
                return self.enter(node["on_fail"])
            return self.handoff({}, reason=f"bot flow: no valid answer at {self.session.node}")
        self.say(self.text(node.get("retry_text"), default_key), data)

    def intent(self, node_id: str, node: dict[str, Any], *, body: str, choice: str | None):
        attribute = node.get("attribute") or "intent"
        by_id = {i["id"]: i for i in node["intents"]}
        if choice in by_id:  # a click on a clarifying question's button
            picked, confidence, source = by_id[choice], 1.0, "button"
        else:
            prediction = classify(intents=node["intents"], text=body)
            picked = by_id.get(prediction.intent)
            confidence, source = prediction.confidence, "classifier"
            if self.session.awaiting == "answer":
                self.collect(f"{attribute}_text", body[:500])
        threshold = node.get("threshold", DEFAULT_THRESHOLD)
        event_record(
            conversation=self.conversation,
            type="bot.intent",
            actor=ACTOR,
            reason=f"{picked['id'] if picked else 'none'} at {confidence:.2f} ({source})",
            data={
                "node": node_id,
                "intent": picked["id"] if picked else None,
                "confidence": confidence,
                "threshold": threshold,
                "source": source,
            },
        )
        if picked is not None and confidence >= threshold:
            self.collect(attribute, picked["id"])
            self.session.intent = picked["id"]
            return self.enter(picked["next"])
        if self.session.awaiting == "answer":
            # Low confidence: ask once, offering the intents as buttons, before falling back.
            self.say(
                self.text(node.get("clarify_text"), "clarify"),
                {"buttons": self.intent_buttons(node), "clarify": True},
            )
            return self.wait(node_id, "clarify")
        self.collect(attribute, None)
        return self.enter(node["fallback"])

    def evaluate(self, node: dict[str, Any]) -> str:
        values = {**self.session.attributes, "language": self.language.split("-")[0]}
        for rule in node["rules"]:
            if _holds(rule["if"], values):
                return rule["next"]
        return node["else"]

    def act(self, node: dict[str, Any]) -> None:
        for name, value in (node.get("set") or {}).items():
            self.collect(name, value)
        tags = node.get("tags") or []
        if tags:
            self.session.tags = [
                *self.session.tags,
                *(t for t in tags if t not in self.session.tags),
            ]
        if node.get("priority") is not None:
            self.conversation.priority = node["priority"]
            self.priority_dirty = True  # written once, by the handoff or at the end of the step

    # --- endings ---------------------------------------------------------------------------
    def handoff(self, node: dict[str, Any], *, reason: str) -> None:
        self.session.state = BotSession.State.HANDED_OFF
        self.session.awaiting = ""
        queue = None
        if node.get("queue"):
            queue = Queue.objects.filter(name=node["queue"]).first()
            if queue is None:
                logger.warning("bot flow names a missing queue %r", node["queue"])
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
        event_message_post(
            audience=self.audience(),
            conversation=self.conversation,
            body=_summary(collected, self.session.intent, queue.name if queue else None),
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
        if _enqueue(
            conversation=self.conversation,
            reason=reason,
            queue=queue,
            priority=priority,
            skills=skills,
        ):
            self.priority_dirty = False  # routing stored it with the status change
        self.status_changed = True

    def end(self, node_id: str, node: dict[str, Any]) -> None:
        self.say(self.text(node["text"]))
        if node.get("csat"):
            self.say(
                self.text(node.get("csat_text"), "csat"), {"buttons": CSAT_BUTTONS, "csat": True}
            )
            return self.wait(node_id, "csat")
        self.resolve()

    def csat(self, node: dict[str, Any], *, body: str, choice: str | None) -> None:
        score = _rating(choice) or _rating(body)
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
        event_message_post(conversation=self.conversation, body="Conversation resolved by the bot.")
        self.status_changed = True
        if self.flow.goal == Flow.Goal.RESOLVED:
            self.goal()

    def goal(self) -> None:
        if self.session.goal_reached_at is not None:
            return
        self.session.goal_reached_at = self.now
        variants_convert(flow=self.flow, picks=self.session.variants.items())

    # --- closing -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Store what this step collected on the customer, and record the lead once."""
        if self.collected:
            customer_attributes_store(
                customer=self.conversation.customer,
                attributes={k: v for k, v in self.collected.items() if v is not None},
            )
            self.collected = {}
        contact = lead_contact(self.session.attributes)
        if contact and self.session.lead_captured_at is None:
            self.session.lead_captured_at = self.now
            event_record(
                conversation=self.conversation,
                type="lead.captured",
                actor=ACTOR,
                reason="the bot collected the customer's contact details",
                data={
                    "customer": self.conversation.customer_id,
                    "contact": contact,
                    "attributes": dict(self.session.attributes),
                    "flow": self.flow.slug,
                    "version": self.session.version.number,
                },
            )
            if self.flow.goal == Flow.Goal.LEAD_CAPTURED:
                self.goal()

    def finish(self, *, publish: bool) -> BotSession:
        self.flush()
        if self.priority_dirty:
            Conversation.objects.filter(pk=self.conversation.pk).update(
                priority=self.conversation.priority
            )
        self.session.steps += 1
        self.session.save(update_fields=SESSION_FIELDS)
        if publish and self.status_changed:
            conversation_publish(conversation=self.conversation)
        return self.session


# --- answers ---------------------------------------------------------------------------------
PHONE_RE = re.compile(r"^\+?\d{6,15}$")
_PHONE_STRIP = re.compile(r"[\s\-.()/]")


def validate_input(validator: dict[str, Any] | None, body: str) -> tuple[bool, Any]:
    """(valid, normalised value) of a free-text answer."""
    value = body.strip()
    kind = (validator or {}).get("type", "text")
    if kind == "email":
        if len(value) > 254:
            return False, None
        try:
            validate_email(value)
        except DjangoValidationError:
            return False, None
        local, _, domain = value.rpartition("@")
        return True, f"{local}@{domain.lower()}"
    if kind == "phone":
        digits = _PHONE_STRIP.sub("", value)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        return (True, digits) if PHONE_RE.match(digits) else (False, None)
    if kind == "number":
        try:
            number = float(value.replace(",", ".").replace(" ", ""))
        except ValueError:
            return False, None
        if math.isnan(number) or math.isinf(number):
            return False, None
        low, high = validator.get("min"), validator.get("max")
        if (low is not None and number < low) or (high is not None and number > high):
            return False, None
        return True, int(number) if number.is_integer() else number
    if kind == "regex":
        try:
            matched = re.fullmatch(validator["pattern"], value)
        except re.error:
            return False, None
        return (True, value) if matched else (False, None)
    low = (validator or {}).get("min_length", 1)
    high = (validator or {}).get("max_length", 500)
    return (True, value) if low <= len(value) <= high else (False, None)


def _input_hint(node: dict[str, Any]) -> dict[str, Any]:
    validator = node.get("validator") or {}
    kind = validator.get("type", "text")
    hint: dict[str, Any] = {"type": "text" if kind == "regex" else kind}
    if validator.get("hint"):
        hint["placeholder"] = validator["hint"]
    return hint


def _match_button(buttons: list[dict], *, body: str, choice: str | None) -> dict | None:
    """The button a click (its id) or a typed answer (a label in any language, the id, or
    the button's number) designates."""
    if choice:
        for button in buttons:
            if button["id"] == choice:
                return button
    typed = normalize(body)
    if not typed:
        return None
    if typed.isdigit() and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1]
    for button in buttons:
        labels = (
            button["label"].values() if isinstance(button["label"], dict) else [button["label"]]
        )
        if typed == normalize(button["id"]) or any(typed == normalize(lbl) for lbl in labels):
            return button
    return None


def _rating(value: str | None) -> int | None:
    if not value:
        return None
    match = re.fullmatch(r"\s*([1-5])\s*(?:/\s*5)?\s*", value)
    return int(match.group(1)) if match else None


def _holds(cond: dict[str, Any], values: dict[str, Any]) -> bool:
    op = cond.get("op", "eq")
    present = cond["attribute"] in values and values[cond["attribute"]] not in (None, "")
    actual = values.get(cond["attribute"])
    expected = cond.get("value")
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected.lower() in actual.lower()
        return isinstance(actual, list) and expected in actual
    if op == "matches":
        return isinstance(actual, str) and re.search(expected, actual) is not None
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    return {
        "gt": actual > expected,
        "gte": actual >= expected,
        "lt": actual < expected,
        "lte": actual <= expected,
    }[op]


def _summary(collected: dict[str, Any], intent: str, queue: str | None) -> str:
    shown = [
        f"{k.replace('_', ' ')}: {v}"
        for k, v in collected.items()
        if v not in (None, "") and not k.endswith("_text")
    ]
    where = f" to {queue}" if queue else ""
    what = "; ".join(shown) if shown else "nothing"
    return f"The bot handed this conversation{where}. Collected: {what}."[:1000]


# --- entry points ----------------------------------------------------------------------------
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
        _enqueue(
            conversation=conversation,
            reason="no bot flow: handed to routing",
            queue=None,
            priority=conversation.priority,
            skills=[],
        )
        return None
    session = BotSession.objects.create(
        conversation=conversation, version=version, node=_graph(version)["start"]
    )
    event_record(
        conversation=conversation,
        type="bot.started",
        actor=ACTOR,
        reason=f"flow {version.flow.slug} v{version.number}",
        data={"flow": version.flow.slug, "version": version.number},
    )
    step = _Step(session=session, conversation=conversation, now=now)
    step.enter(session.node)
    return step.finish(publish=False)


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
    session = (
        BotSession.objects.select_related("version__flow", "bot_participant")
        # The graphs are cached per version; a flow's draft is never needed here.
        .defer("version__graph", "version__flow__draft", "version__flow__description")
        .filter(conversation=conversation)
        .first()
    )
    if session is None or session.state != BotSession.State.ACTIVE:
        # A bot conversation without a running flow (data from before flows existed).
        _enqueue(
            conversation=conversation,
            reason="no running bot session: handed to routing",
            queue=None,
            priority=conversation.priority,
            skills=[],
        )
        conversation_publish(conversation=conversation)
        return session
    step = _Step(session=session, conversation=conversation, now=now)
    step.answer(body=message.body, choice=choice)
    return step.finish(publish=True)
