"""The step machine: consume the customer's action at the waiting node, then run the
nodes that need no answer up to the next waiting node, a handoff or an end."""

from __future__ import annotations

import logging
from typing import Any

from bots.graph import handoff_on_request
from bots.intents import classify, threshold_for
from bots.models import BotSession
from bots.person_request import PERSON_BUTTON_ID, asks_for_person
from bots.services.engine_answers import (
    condition_holds,
    input_hint,
    match_button,
    validate_input,
)
from bots.services.engine_base import ACTOR, choice_ids
from bots.services.engine_endings import StepEndings
from bots.smalltalk import is_greeting
from chat.services import event_record

logger = logging.getLogger(__name__)

MAX_AUTO_NODES = 50  # validation forbids auto-only cycles; this guards old data anyway


class Step(StepEndings):
    """One engine step on one locked conversation."""

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
                known = self.known_answer(node)
                if known is not None:  # asked before (the pre-chat form, an earlier chat)
                    self.collect(node["attribute"], known)
                    node_id = node["next"]
                    continue
                self.say(self.text(node["text"]), {"input": input_hint(node)})
                return self.wait(node_id)
            elif kind == "intent":
                self.say(self.text(node["text"]))
                return self.wait(node_id)
            elif kind == "handoff":
                self.say(self.handoff_text(node))
                return self.handoff(node, reason=f"bot flow: handoff at {node_id}")
            elif kind == "end":
                return self.end(node_id, node)
        logger.error("bot flow %s loops at %s", self.session.version, node_id)
        self.handoff({}, reason="bot flow: too many steps without an answer")

    def known_answer(self, node: dict[str, Any]) -> Any:
        """The answer to an input question the customer gave already, if it passes the
        question's validator: this session's, or the customer's record (the pre-chat form
        fills name and email; an earlier chat's answers are in its attributes). Intercom's
        bots do not ask again, and a walkthrough was asked for its email three times."""
        name = node["attribute"]
        customer = self.conversation.customer
        for value in (
            self.session.attributes.get(name),
            getattr(customer, name, None) if name in ("email", "name") else None,
            (customer.attributes or {}).get(name),
        ):
            if isinstance(value, str) and value.strip():
                ok, clean = validate_input(node.get("validator"), value)
                if ok:
                    return clean
        return None

    def answer(self, *, body: str, choice: str | None) -> None:
        """Consume the customer's action at the waiting node."""
        session = self.session
        node_id = session.node
        if session.state != BotSession.State.ACTIVE or node_id not in self.nodes:
            return self.handoff({}, reason="bot flow: no active step")
        node = self.view(node_id)
        kind = node["type"]
        if self.person_asked(node, body=body, choice=choice):
            return self.person_handoff()
        if choice is None and session.awaiting == "answer" and is_greeting(body):
            return self.greet_back(node)
        if kind == "choice":
            button = match_button(node["buttons"], body=body, choice=choice)
            if button is not None:
                if node.get("attribute"):
                    self.collect(node["attribute"], button["id"])
                return self.enter(button["next"])
            if node.get("fallback"):
                return self.enter(node["fallback"])
            buttons = self.buttons(node) + self.person_buttons(node)
            return self.retry(node, "retry_choice", {"buttons": buttons})
        if kind == "input":
            ok, value = validate_input(node.get("validator"), body)
            if ok:
                self.collect(node["attribute"], value)
                return self.enter(node["next"])
            return self.retry(node, "retry_input", {"input": input_hint(node)})
        if kind == "intent":
            return self.intent(node_id, node, body=body, choice=choice)
        if kind == "end" and session.awaiting == "csat":
            return self.csat(node, body=body, choice=choice)
        self.handoff({}, reason=f"bot flow: {kind} node {node_id} cannot take an answer")

    def person_asked(self, node: dict[str, Any], *, body: str, choice: str | None) -> bool:
        """At a question waiting for the customer (a choice, an input, an intent, its
        clarifying question), a click on "Talk to someone" or a typed request for a person
        (bots.person_request). The flow's own buttons and intents come first: a choice
        whose button says "Talk to an agent" follows that button's edge."""
        if node["type"] not in ("choice", "input", "intent") or not handoff_on_request(self.graph):
            return False
        if choice is not None:
            return choice == PERSON_BUTTON_ID and choice not in choice_ids(node)
        if node["type"] == "choice" and match_button(node["buttons"], body=body, choice=None):
            return False
        return asks_for_person(body)

    def greet_back(self, node: dict[str, Any]) -> None:
        """A greeting is not a wrong answer: say hello and ask the question again (no retry
        counted)."""
        kind = node["type"]
        if kind not in ("choice", "input", "intent"):
            return self.handoff({}, reason=f"bot flow: {kind} node cannot take an answer")
        data: dict[str, Any] = {}
        if kind == "choice":
            data = {"buttons": self.buttons(node)}
        elif kind == "input":
            data = {"input": input_hint(node)}
        hello = self.text(None, "greeting")
        self.say(f"{hello} {self.text(node['text'])}", data)

    def retry(self, node: dict[str, Any], default_key: str, data: dict[str, Any]) -> None:
        """Re-ask after an invalid answer, at most max_retries times, then move on."""
        self.session.retries += 1
        if self.session.retries > node.get("max_retries", 2):
            if node.get("on_fail"):
                return self.enter(node["on_fail"])
            return self.handoff({}, reason=f"bot flow: no valid answer at {self.session.node}")
        self.say(self.text(node.get("retry_text"), default_key), data)

    def intent(self, node_id: str, node: dict[str, Any], *, body: str, choice: str | None) -> None:
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
        threshold = threshold_for(node)
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
            buttons = self.intent_buttons(node) + self.person_buttons(node)
            self.say(
                self.text(node.get("clarify_text"), "clarify"),
                {"buttons": buttons, "clarify": True},
            )
            return self.wait(node_id, "clarify")
        self.collect(attribute, None)
        return self.enter(node["fallback"])

    def evaluate(self, node: dict[str, Any]) -> str:
        values = {**self.session.attributes, "language": self.language.split("-")[0]}
        for rule in node["rules"]:
            if condition_holds(rule["if"], values):
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
