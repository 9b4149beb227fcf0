"""The objects of an integrator's own (a message's ``data``, a customer's ``attributes``): kept
as sent (a probe's ``data.source`` was overwritten by the key's name) and bounded in size
(a 2 MB ``data`` was stored, then carried in every read, push and webhook)."""

from __future__ import annotations

import pytest

from actions import conversations as conversation_actions
from chat.models import Message
from chat.services.messages import message_hook_payload
from tests.api.conftest import key_client
from tests.factories import customer_actor, make_customer, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation():
    customer = make_customer(site=make_site())
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    return conversation


def post(client, conversation, **body):
    return client.post(f"/api/v1/conversations/{conversation.pk}/messages/", body, format="json")


def test_the_callers_data_is_kept_as_sent_source_included(conversation):
    client, _key = key_client(name="crm-sync")
    got = post(client, conversation, client_msg_id="s1", body="Shipped", data={"source": "crm"})
    assert got.status_code == 201, got.json()
    stored = Message.objects.get(conversation=conversation, client_msg_id="s1")
    assert stored.data == {"source": "crm"}
    # Without one of its own, the key's name says where it came from (the console shows it).
    post(client, conversation, client_msg_id="s2", body="Paid", data={"order": 7})
    plain = Message.objects.get(conversation=conversation, client_msg_id="s2")
    assert plain.data == {"order": 7, "source": "crm-sync"}
    # A webhook reads the same data as the API.
    assert message_hook_payload(stored, stored.sender)["data"] == {"source": "crm"}


@pytest.mark.parametrize("path", ["messages", "system-messages"])
def test_a_data_object_over_the_limit_is_a_400_naming_it(conversation, settings, path):
    settings.PARLEY = {**settings.PARLEY, "JSON_FIELD_MAX_BYTES": 1000}
    client, _key = key_client()
    body = {"client_msg_id": "big", "body": "x", "data": {"blob": "é" * 600}}  # 1,200 bytes
    got = client.post(f"/api/v1/conversations/{conversation.pk}/{path}/", body, format="json")
    assert got.status_code == 400
    error = got.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_field", "data")
    assert "At most 1000 bytes" in error["message"]
    assert not Message.objects.filter(conversation=conversation, client_msg_id="big").exists()
    body["data"] = {"blob": "e" * 600}
    assert client.post(
        f"/api/v1/conversations/{conversation.pk}/{path}/", body, format="json"
    ).status_code in (200, 201)


def test_customer_attributes_over_the_limit_are_a_400(conversation, settings):
    settings.PARLEY = {**settings.PARLEY, "JSON_FIELD_MAX_BYTES": 1000}
    client, _key = key_client()
    url = f"/api/v1/customers/{conversation.customer_id}/"
    got = client.patch(url, {"attributes": {"notes": "n" * 2000}}, format="json")
    assert got.status_code == 400 and got.json()["error"]["field"] == "attributes"
    assert client.patch(url, {"attributes": {"plan": "pro"}}, format="json").status_code == 200


def test_a_refused_pattern_is_said_in_words(conversation):
    client, _key = key_client()
    got = post(client, conversation, client_msg_id="has space", body="x")
    assert got.status_code == 400
    assert got.json()["error"]["message"].endswith("(no spaces).")
    blank = post(client, conversation, client_msg_id="ok1", body="   ")
    assert "something other than spaces" in blank.json()["error"]["message"]
