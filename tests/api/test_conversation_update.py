"""PATCH /conversations/{id}/: an agent or an integration (a CRM marking a VIP) changes a
conversation's subject or priority; a waiting conversation's place in line follows the new
priority; anything else in the body is a clear 400, never ignored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat.models import ConversationEvent
from routing.models import QueueEntry
from tests.api.conftest import key_client, visitor_client
from tests.factories import customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting():
    site = make_site()
    customer = make_customer(site=site)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    assert conversation.status == "queued"
    return conversation


def url(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/"


def test_a_key_changes_subject_and_priority_and_the_line_follows(waiting):
    api, _ = key_client()
    answer = api.patch(url(waiting), {"subject": "  Refund for #7781 ", "priority": 50},
                       format="json")  # fmt: skip
    assert answer.status_code == 200, answer.content
    assert answer.json()["subject"] == "Refund for #7781"
    assert answer.json()["priority"] == 50
    assert QueueEntry.objects.get(conversation=waiting, closed_at__isnull=True).priority == 50
    [event] = ConversationEvent.objects.filter(conversation=waiting, type="details.changed")
    assert event.data == {
        "subject": {"from": "", "to": "Refund for #7781"},
        "priority": {"from": 0, "to": 50},
    }
    assert event.actor.startswith("service:")
    assert event.reason == "priority 0 → 50; subject: Refund for #7781"
    # The same values again change nothing and record nothing.
    again = api.patch(url(waiting), {"priority": 50}, format="json")
    assert again.status_code == 200
    assert ConversationEvent.objects.filter(type="details.changed").count() == 1


def test_an_agent_may_too_a_customer_may_not(waiting):
    agent = APIClient()
    agent.force_login(make_agent("ana"))
    assert agent.patch(url(waiting), {"priority": -5}, format="json").status_code == 200
    customer = visitor_client(waiting.customer)
    refused = customer.patch(url(waiting), {"priority": 100}, format="json")
    assert refused.status_code == 403
    waiting.refresh_from_db()
    assert waiting.priority == -5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "resolved"}, "status"),
        ({"actor": "x"}, "actor"),  # a kwarg's name is still just an unknown field
        ({"conversation_id": 1}, "conversation_id"),
        ({"priority": "5"}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": 101}, "priority"),
        ({"priority": None}, "priority"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "a\x00b"}, "subject"),
        ({"subject": ["x"]}, "subject"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(waiting, body, field):
    api, _ = key_client()
    answer = api.patch(url(waiting), body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["field"] == field
    assert not ConversationEvent.objects.filter(type="details.changed").exists()


def test_scopes_and_sites_hold(waiting):
    reader, _ = key_client(scopes=["conversations:read"])
    assert reader.patch(url(waiting), {"priority": 1}, format="json").status_code == 403
    elsewhere, _ = key_client(site=make_site(name="Other shop"))
    assert elsewhere.patch(url(waiting), {"priority": 1}, format="json").status_code == 404
    assert not ConversationEvent.objects.filter(type="details.changed").exists()
