"""Helpers for the bot tests: small flows built inline, and a customer who talks."""

from __future__ import annotations

import itertools
import json

import pytest

from actions import conversations as conversation_actions
from bots.demo import DEMO_FLOW_PATH, demo_flow_install
from bots.intents import warm_up
from bots.models import Flow
from bots.services import flow_create, flow_publish
from chat.models import Conversation, Message
from routing.models import Queue
from tests.factories import customer_actor, make_customer, make_site

_ids = itertools.count(1)


def make_flow(graph: dict, *, goal: str = Flow.Goal.LEAD_CAPTURED, publish: bool = True) -> Flow:
    """Create (and publish) a flow, after creating the queues its handoffs name, as
    loaddemo does: saving a flow refuses a handoff to a queue that does not exist."""
    for node in graph["nodes"].values():
        if node.get("type") == "handoff" and node.get("queue"):
            Queue.objects.get_or_create(name=node["queue"])
    flow = flow_create(name=f"Flow {next(_ids)}", graph=graph, goal=goal)
    if publish:
        flow_publish(flow=flow, published_by="test")
        flow.refresh_from_db()
    return flow


class Chat:
    """A customer talking to a site's bot through the real services."""

    def __init__(self, flow: Flow | None, *, language: str = "en", site=None, **customer):
        self.site = site or make_site(default_flow=flow)
        self.customer = make_customer(site=self.site, **customer)
        self.actor = customer_actor(self.customer)
        self.conversation, _ = conversation_actions.conversation_start(
            actor=self.actor, language=language
        )

    def send(self, body: str, choice: str | None = None) -> list[Message]:
        """Send as the customer; returns the messages the bot and system posted after it."""
        message, _ = conversation_actions.message_send(
            actor=self.actor,
            conversation_id=self.conversation.pk,
            body=body,
            client_msg_id=f"c{next(_ids)}",
            choice=choice,
        )
        self.refresh()
        return list(
            Message.objects.filter(conversation=self.conversation, seq__gt=message.seq).order_by(
                "seq"
            )
        )

    def click(self, button_id: str) -> list[Message]:
        label = next(
            b["label"] for b in self.last_bot().data.get("buttons", []) if b["id"] == button_id
        )
        return self.send(label, choice=button_id)

    def refresh(self) -> Conversation:
        self.conversation.refresh_from_db()
        self.customer.refresh_from_db()
        return self.conversation

    def bot_messages(self) -> list[Message]:
        return list(
            Message.objects.filter(conversation=self.conversation, kind="bot").order_by("seq")
        )

    def last_bot(self) -> Message:
        return self.bot_messages()[-1]

    @property
    def session(self):
        from bots.models import BotSession

        return BotSession.objects.get(conversation=self.conversation)


@pytest.fixture
def published(settings):
    """Frames published to Channels' in-memory layer (see tests/chat/conftest.py)."""
    from channels.layers import get_channel_layer

    from tests.chat.conftest import LayerRecorder

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return LayerRecorder(get_channel_layer())


@pytest.fixture
def demo_flow(db) -> Flow:
    return demo_flow_install()


@pytest.fixture
def demo_document() -> dict:
    return json.loads(DEMO_FLOW_PATH.read_text())


@pytest.fixture(scope="session", autouse=True)
def intent_models_warm():
    """As config/asgi.py does for a server: the encoder loads before the first step (the
    socket tests' 5 s receive timeout would otherwise include the load)."""
    graph = json.loads(DEMO_FLOW_PATH.read_text())["graph"]
    warm_up(intent_nodes=[n for n in graph["nodes"].values() if n["type"] == "intent"])
