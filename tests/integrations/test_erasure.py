"""A customer's GDPR erasure reaches what integrations keep: the webhook outbox's bodies
and the delivery log (issue 13's probe: the log kept their text for 30 days)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from chat import services
from integrations.models import HookEvent, WebhookAttempt, WebhookDelivery
from integrations.services import delivery

pytestmark = pytest.mark.django_db
SECRET_TEXT = "my card is 4111 and I live at 3 Elm Street"


def erase(site, customer) -> dict:
    _key, raw = services.api_key_create(name="dpo", site=site)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(f"/api/v1/customers/{customer.pk}/erase/")
    assert response.status_code == 200, response.content
    return response.json()


def test_erasure_blanks_the_outbox_and_the_delivery_log(
    site, customer, start, send, endpoint, receiver
):
    hook = endpoint()
    conversation = start()
    send(conversation, SECRET_TEXT)
    assert delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk) == 1
    send(conversation, "and my email is ana@example.com")  # not sent yet when erased
    assert SECRET_TEXT in WebhookAttempt.objects.get().request_body

    result = erase(site, customer)

    assert result["webhook_events"] == 2 and result["messages"] == 2
    for event in HookEvent.objects.all():
        assert event.body["data"] == {"erased": True, "conversation": {"id": conversation.pk}}
    attempt = WebhookAttempt.objects.get()
    assert attempt.request_body == "[erased]" and attempt.response_body == ""
    # The pending delivery still goes out, in order, without the text.
    assert delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk) == 1
    sent = [json.loads(r["body"]) for r in receiver.requests]
    assert SECRET_TEXT in json.dumps(sent[0])  # delivered before the erasure
    assert sent[1]["data"] == {"erased": True, "conversation": {"id": conversation.pk}}
    assert "ana@example.com" not in json.dumps(sent[1])
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}
    # Idempotent: nothing left to blank.
    assert erase(site, customer)["webhook_events"] == 0


def test_another_customers_webhooks_are_left_alone(site, customer, start, send, endpoint):
    from chat.actors import Actor
    from chat.flows import flows
    from tests.factories import make_customer

    endpoint()
    send(start(), "mine")
    other = make_customer(site)
    theirs, _ = flows.conversation_start(actor=Actor.for_customer(other))
    flows.message_send(
        actor=Actor.for_customer(other),
        conversation_id=theirs.pk,
        body="theirs",
        client_msg_id="o1",
    )
    erase(site, customer)
    kept = HookEvent.objects.get(conversation_id=theirs.pk)
    assert kept.body["data"]["message"]["body"] == "theirs"
