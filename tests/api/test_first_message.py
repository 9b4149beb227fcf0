"""POST /api/v1/conversations/ with the customer's first `message` (docs/api.md): the
conversation and its message are made together or not at all, so no agent is offered a
conversation whose first message is still to come."""

from __future__ import annotations

import pytest

from chat.models import BlockedMessage, Conversation, Message, ModerationPolicy
from routing.models import Queue, Reservation
from tests.api.conftest import key_client, visitor_client
from tests.factories import make_customer, make_site
from tests.routing.conftest import online_agent

pytestmark = pytest.mark.django_db


def first(body="Where is my order 1234?", cid="crm-1", **extra) -> dict:
    return {"body": body, "client_msg_id": cid, **extra}


def test_a_key_starts_a_conversation_with_the_customers_first_message(on_commit):
    queue = Queue.objects.create(name="Support")
    site = make_site(default_queue=queue)
    online_agent(queue)
    customer = make_customer(site=site)
    client, _ = key_client(site=site)
    with on_commit(execute=True):
        created = client.post(
            "/api/v1/conversations/",
            {"customer": customer.pk, "message": first()},
            format="json",
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["last_seq"] == 1
    assert body["message"]["seq"] == 1 and body["message"]["body"] == "Where is my order 1234?"
    assert body["message"]["sender"]["role"] == "customer"
    assert body["message"]["client_msg_id"] == "crm-1"
    # Offered in the same transaction as the message: the offer finds it there.
    offer = Reservation.objects.get(conversation_id=body["id"])
    assert offer.state == "offered"
    assert Message.objects.filter(conversation_id=body["id"], seq=1).exists()

    # The same request again (a retry): the open conversation, the same message, once.
    again = client.post(
        "/api/v1/conversations/", {"customer": customer.pk, "message": first()}, format="json"
    )
    assert again.status_code == 200, again.content
    assert again.json()["message"]["id"] == body["message"]["id"]
    assert Message.objects.filter(conversation_id=body["id"]).count() == 1


def test_a_visitor_starts_with_a_message_too():
    customer = make_customer()
    response = visitor_client(customer).post(
        "/api/v1/conversations/", {"message": first("hello", "v-1")}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["message"]["view"]["as"] == "sender"


def test_a_refused_first_message_makes_nothing():
    site = make_site(moderation_policy=ModerationPolicy.BLOCK)
    customer = make_customer(site=site)
    client, _ = key_client(site=site)
    response = client.post(
        "/api/v1/conversations/",
        {"customer": customer.pk, "message": first("Va te faire foutre, connard")},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "message_blocked"
    assert not Conversation.objects.filter(customer=customer).exists()
    assert not BlockedMessage.objects.exists()  # with the conversation it would have been in


@pytest.mark.parametrize(
    "message, field",
    [
        ("hello", "message"),
        ({"body": "hello"}, "message.client_msg_id"),
        ({"body": 12, "client_msg_id": "x-1"}, "message.body"),
        ({"body": "   ", "client_msg_id": "x-1"}, "message.body"),
        ({"body": "\u200b\u200b", "client_msg_id": "x-1"}, "message.body"),
    ],
)
def test_a_malformed_first_message_is_a_400_naming_its_field(message, field):
    customer = make_customer()
    client, _ = key_client(site=customer.site)
    response = client.post(
        "/api/v1/conversations/", {"customer": customer.pk, "message": message}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Conversation.objects.filter(customer=customer).exists()
