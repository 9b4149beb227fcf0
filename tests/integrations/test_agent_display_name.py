"""The agent's display name (their profile's, as set in admin) is the one name customers,
consoles, webhooks and canned replies see; without one, the full name, then the username."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from actions.rules import render
from chat.actors import Actor
from chat.flows import flows
from chat.models import Message
from chat.names import user_name
from chat.payloads import conversation_payload
from integrations.models import HookEvent
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(site):
    agent = make_agent("carol")
    agent.first_name, agent.last_name = "Carol", "Jones"
    agent.save()
    agent.agent_profile.display_name = "Caro from Support"
    agent.agent_profile.save()
    agent.agent_profile.queues.add(site.default_queue)
    flows.agent_console_connect(user=agent, channel_name="test.carol")
    return get_user_model().objects.get(pk=agent.pk)  # a fresh user, no profile loaded


def test_widget_webhook_and_console_see_the_display_name(site, start, send, endpoint, carol):
    endpoint(events=["conversation.assigned", "message.created"])
    conversation = start()
    flows.conversation_take(actor=Actor.for_agent(carol), conversation_id=conversation.pk)
    conversation.refresh_from_db()

    # The widget: the participants in the conversation payload, and the joined line.
    payload = conversation_payload(conversation)
    names = {p["role"]: p["name"] for p in payload["participants"]}
    assert names["agent"] == "Caro from Support"
    assert payload["assignee"]["name"] == "Caro from Support"
    joined = Message.objects.filter(conversation=conversation, data__line="joined").get()
    assert joined.body == "Caro from Support joined the conversation."
    assert joined.data["name"] == "Caro from Support"

    # Webhooks: the assigned event's agent and the conversation's assignee.
    [assigned] = [e.body for e in HookEvent.objects.filter(type="conversation.assigned")]
    assert assigned["data"]["agent"]["name"] == "Caro from Support"
    assert assigned["data"]["conversation"]["assignee"]["name"] == "Caro from Support"
    flows.message_send(
        actor=Actor.for_agent(carol), conversation_id=conversation.pk, body="hi",
        client_msg_id="c1",
    )  # fmt: skip
    sent = HookEvent.objects.filter(type="message.created").order_by("id").last().body
    assert sent["data"]["message"]["sender"]["name"] == "Caro from Support"

    # A rule's reply and the console's canned replies ({{agent.name}}: the console's name).
    conversation.refresh_from_db()
    assert render("I am {{agent.name}}.", conversation) == "I am Caro from Support."
    client = Client()
    client.force_login(carol)
    page = client.get("/console/")
    assert page.status_code == 200 and page.context["agent_name"] == "Caro from Support"


def test_the_fallbacks_full_name_then_username(carol):
    carol.agent_profile.display_name = ""
    carol.agent_profile.save()
    fresh = get_user_model().objects.get(pk=carol.pk)
    assert user_name(fresh) == "Carol Jones"
    fresh.first_name = fresh.last_name = ""
    assert user_name(fresh) == "carol"
    nobody = get_user_model().objects.create_user("dave", first_name="Dave")
    assert user_name(nobody) == "Dave"  # a user with no agent profile (a supervisor)
