"""One engine step's state and output: the graph it runs, what it says, what it collects,
and how it closes (the customer's attributes, the lead, the session row).

A step is one class split by responsibility over three modules, each layer using only the
one below: this base, the endings (engine_endings: handoff, end, CSAT, resolve) and the
step machine with its node handlers (engine_step).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from bots.graph import graph_languages, handoff_on_request, node_view, text_for, text_variants
from bots.models import BotSession, Flow, FlowVersion
from bots.person_request import BUTTON_LABEL, PERSON_BUTTON_ID
from bots.services.leads import customer_attributes_store, lead_contact
from bots.services.variants import variant_pick, variants_convert
from chat import realtime
from chat.models import Conversation, Message, Participant
from chat.selectors import participant_groups
from chat.services import conversation_publish, event_record, message_create
from chat.services.fanout import viewers

ACTOR = "bot"
# The bot's own texts, used where a flow gives none. They come from the gettext catalogs
# (locale/<lang>/LC_MESSAGES/django.po), in the conversation's language.
DEFAULT_TEXTS = {
    "retry_choice": gettext_noop("Please pick one of the options."),
    "retry_input": gettext_noop("Sorry, that doesn't look right. Could you try again?"),
    "clarify": gettext_noop("Sorry, I'm not sure I understood. Is it one of these?"),
    "csat": gettext_noop("How would you rate this chat, from 1 (poor) to 5 (great)?"),
    "thanks": gettext_noop("Thank you!"),
    # A greeting is answered, then the question asked again (bots.smalltalk).
    "greeting": gettext_noop("Hello!"),
    # Said at a hand-off instead of the flow's promise when nobody can join now.
    "handoff_offline": gettext_noop(
        "Thanks! Nobody from our team can join right now. Leave your message here and we'll "
        "answer as soon as we can; you'll see the reply when you come back."
    ),
}


def system_text(key: str, language: str) -> str:
    """One of the bot's own texts in ``language`` (its base: fr-ca reads fr)."""
    with translation.override(language.split("-")[0].lower() or "en"):
        return translation.gettext(DEFAULT_TEXTS[key])


def choice_ids(node: dict[str, Any]) -> set[str]:
    """The ids a click can name at a node: its buttons' and its intents'."""
    return {b["id"] for b in node.get("buttons") or []} | {
        i["id"] for i in node.get("intents") or []
    }


SESSION_FIELDS = [
    "bot_participant", "node", "awaiting", "retries", "state", "attributes", "tags", "intent",
    "variants", "path", "steps", "goal_reached_at", "lead_captured_at", "updated_at",
]  # fmt: skip
# Published versions never change, so their graphs (and the languages they have texts
# in) are cached per process. The key is the id with the creation time: an id alone can
# repeat (SQLite reuses the ids of rolled-back rows, and the cache then served one test's
# graph to the next), the pair cannot.
_graphs: dict[tuple[int, datetime], tuple[dict[str, Any], tuple[str, ...]]] = {}


def version_graph(version: FlowVersion) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The version's graph and its languages (bots.graph.graph_languages)."""
    key = (version.pk, version.created_at)
    cached = _graphs.get(key)
    if cached is None:
        graph = FlowVersion.objects.values_list("graph", flat=True).get(pk=version.pk)
        if len(_graphs) > 512:
            _graphs.clear()
        cached = _graphs[key] = (graph, graph_languages(graph))
    return cached


class StepBase:
    """One engine step on one locked conversation: its state, output and closing."""

    def __init__(self, *, session: BotSession, conversation: Conversation, now: datetime):
        self.session = session
        self.conversation = conversation
        self.now = now
        self.graph, self.languages = version_graph(session.version)
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
            found = system_text(fallback_key, self.language)
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

    def button(self, id_: str, label: Any) -> dict[str, Any]:
        """A button as the widget gets it: ``label`` in the conversation's language (what
        an old client shows), and ``labels`` in every language of the flow, so that a
        widget switched to another language (Parley.setLocale) redraws it in that one.
        No ``labels`` when there is nothing to switch to (one language, a plain string):
        every frame of a one-language flow stays as small as before."""
        button: dict[str, Any] = {"id": id_, "label": self.text(label)}
        labels = text_variants(label, self.languages, self.default_language)
        if labels:
            button["labels"] = labels
        return button

    def buttons(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.button(b["id"], b["label"]) for b in node["buttons"]]

    def intent_buttons(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.button(i["id"], i["label"]) for i in node["intents"]]

    def person_buttons(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The "Talk to someone" button a re-asked question adds (a customer the bot did
        not understand always has a way to a person), unless the flow opted out or has a
        button or intent of that id itself."""
        if not handoff_on_request(self.graph) or PERSON_BUTTON_ID in choice_ids(node):
            return []
        button: dict[str, Any] = {"id": PERSON_BUTTON_ID, "label": self.text(BUTTON_LABEL)}
        if len(self.languages) > 1:
            # The built-in text's own languages (bots/data/person_request.json), whatever
            # the flow's: a widget switched to any of them reads the button in it.
            button["labels"] = dict(BUTTON_LABEL)
        return [button]

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

    # --- the flow's goal: a resolution or a captured lead, whichever the flow counts ----
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
