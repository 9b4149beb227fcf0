"""The widget's feedback through the REST API: a CSAT rating after an agent resolved the
chat (stored once, reported), and the transcript by email (Django's mail outbox)."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from chat.models import ConversationEvent, CsatRating, Message, Note
from routing.services import reservation_accept
from tests.factories import agent_actor, customer_actor, make_customer, make_site
from tests.routing.conftest import make_queue, online_agent, open_offer

pytestmark = pytest.mark.django_db(transaction=True)  # the router offers after commit


def visitor(customer) -> APIClient:
    client = APIClient()
    token = services.visitor_token_issue(customer=customer)
    client.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
    return client


def resolved_chat(*, language: str = "en"):
    queue = make_queue()
    agent = online_agent(queue)
    customer = make_customer(site=make_site(default_queue=queue, name="DIY Market"))
    conversation, _ = conversation_actions.conversation_start(
        actor=customer_actor(customer), language=language
    )
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    conversation_actions.message_send(
        actor=customer_actor(customer),
        conversation_id=conversation.pk,
        body="Is the drill in stock?",
        client_msg_id="m1",
    )
    conversation_actions.message_send(
        actor=agent_actor(agent),
        conversation_id=conversation.pk,
        body="Yes, 14 in Lyon.",
        client_msg_id="a1",
    )
    services.note_add(
        actor=agent_actor(agent), conversation_id=conversation.pk, body="Secret: VIP discount"
    )
    conversation_actions.conversation_resolve(
        actor=agent_actor(agent), conversation_id=conversation.pk
    )
    return conversation, customer, agent


def test_a_customer_rates_an_agents_chat_once_and_the_report_counts_it():
    conversation, customer, agent = resolved_chat()
    url = f"/api/v1/conversations/{conversation.pk}/csat/"
    response = visitor(customer).post(url, {"score": 5, "comment": "Great"}, format="json")
    assert response.status_code == 201 and response.json()["score"] == 5
    rating = CsatRating.objects.get()
    assert (rating.conversation_id, rating.agent_id, rating.score) == (
        conversation.pk, agent.pk, 5
    )  # fmt: skip
    assert rating.comment == "Great"
    assert ConversationEvent.objects.filter(conversation=conversation, type="csat.submitted")
    again = visitor(customer).post(url, {"score": 1}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    # The report, for a supervisor.
    agent.is_superuser = True
    agent.save(update_fields=["is_superuser"])
    staff = APIClient()
    staff.force_authenticate(agent)
    report = staff.get("/api/v1/reports/csat/").json()
    assert report["count"] == 1 and report["average"] == 5
    assert report["scores"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert report["agents"][0]["agent"] == agent.pk
    # Not for customers.
    assert visitor(customer).get("/api/v1/reports/csat/").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [({"score": 0}, "score"), ({"score": 6}, "score"), ({"score": "5"}, "score"),
     ({"score": True}, "score"), ({}, "score"), ({"score": 3, "comment": "x" * 2001}, "comment"),
     ({"score": 3, "comment": 7}, "comment")],
)  # fmt: skip
def test_a_bad_rating_is_a_400_naming_the_field(body, field):
    conversation, customer, _ = resolved_chat()
    response = visitor(customer).post(
        f"/api/v1/conversations/{conversation.pk}/csat/", body, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert not CsatRating.objects.exists()


def test_an_open_or_foreign_conversation_cannot_be_rated():
    queue = make_queue()
    customer = make_customer(site=make_site(default_queue=queue))
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    url = f"/api/v1/conversations/{conversation.pk}/csat/"
    response = visitor(customer).post(url, {"score": 4}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ratable"
    stranger = make_customer(site=customer.site)
    assert visitor(stranger).post(url, {"score": 4}, format="json").status_code == 404


def test_the_transcript_is_emailed_in_the_conversations_language_without_notes():
    conversation, customer, _ = resolved_chat(language="fr")
    url = f"/api/v1/conversations/{conversation.pk}/transcript/"
    response = visitor(customer).post(url, {"email": "zoe@example.com"}, format="json")
    assert response.status_code == 202
    (sent,) = mail.outbox
    assert sent.to == ["zoe@example.com"]
    assert sent.subject == "Votre conversation avec DIY Market"
    assert "Is the drill in stock?" in sent.body and "Yes, 14 in Lyon." in sent.body
    assert "Secret" not in sent.body  # internal notes never leave for a customer
    assert Note.objects.filter(body__startswith="Secret").exists()
    assert Message.objects.filter(conversation=conversation).count() >= 3


def test_a_bad_email_is_a_400_and_a_flood_a_409():
    conversation, customer, _ = resolved_chat()
    url = f"/api/v1/conversations/{conversation.pk}/transcript/"
    client = visitor(customer)
    for bad in ("not-an-email", "", 42):
        response = client.post(url, {"email": bad}, format="json")
        assert response.status_code == 400 and response.json()["error"]["field"] == "email"
    codes = [client.post(url, {"email": "zoe@example.com"}, format="json").status_code
             for _ in range(4)]  # fmt: skip
    assert codes == [202, 202, 202, 409]
    assert len(mail.outbox) == 3
