"""REST bodies that cannot be parsed, stored or pushed get a 400 in the API's error shape
(chat/api/parsers.py), never a 500, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from chat.models import Customer, Message
from tests.factories import customer_actor, make_customer, make_site

pytestmark = pytest.mark.django_db


def post_raw(client: APIClient, url: str, raw: str):
    return client.generic("POST", url, raw, content_type="application/json")


def test_a_body_nested_5000_deep_gets_too_deep():
    site = make_site()
    raw = json.dumps({"site_key": site.key, "name": None}).replace("null", "[" * 5000 + "]" * 5000)
    response = post_raw(APIClient(), "/api/v1/widget/sessions/", raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    body = json.dumps({"site_key": site.key, "name": nested})
    response = post_raw(APIClient(), "/api/v1/widget/sessions/", body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "too_deep")
    assert not Customer.objects.exists()


def system_messages():
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    _, raw_key = services.api_key_create(name="orders")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client, f"/api/v1/conversations/{conversation.pk}/system-messages/"


@pytest.mark.parametrize("text", ["Zo\x00é", "\ud83d"], ids=["nul", "lone-surrogate"])
def test_a_string_postgresql_cannot_store_gets_invalid_field_with_the_field(text):
    """In a JSON field (system message data) it failed in PostgreSQL: a 500."""
    client, url = system_messages()
    for payload, field in [
        ({"body": "Order shipped", "data": {"note": text}}, "data.note"),
        (
            {"body": "Order shipped", "data": {text: 1}},
            "data.Zo\ufffdé" if "\x00" in text else "data.\ufffd",
        ),
        ({"body": text}, "body"),
    ]:
        response = post_raw(client, url, json.dumps(payload))  # \u0000, \ud83d escapes
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_field", field)
    assert not Message.objects.filter(kind="system").exists()
    site = make_site()
    response = post_raw(
        APIClient(), "/api/v1/widget/sessions/", json.dumps({"site_key": site.key, "name": text})
    )
    assert (response.status_code, response.json()["error"]["field"]) == (400, "name")
    assert not Customer.objects.filter(site=site).exists()


def test_system_message_data_that_cannot_be_pushed_is_refused():
    """An integer over 64 bits was stored, and then no publish could carry it. The range is
    signed 64 bits, as PostgreSQL's bigint."""
    client, url = system_messages()
    for data, field in [
        ({"order": 2**64}, "data.order"),
        ({"order": 2**63}, "data.order"),
        ({"ids": [1, -(2**63) - 1]}, "data.ids.1"),
    ]:
        body = json.dumps({"body": "Order shipped", "data": data})
        response = post_raw(client, url, body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_field", field)
    assert not Message.objects.filter(kind="system").exists()
    body = json.dumps({"body": "Order shipped", "data": {"order": 2**63 - 1, "low": -(2**63)}})
    assert post_raw(client, url, body).status_code == 201
