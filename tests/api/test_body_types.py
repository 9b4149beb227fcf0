"""Integers in bodies: an id takes its digits as a string, the same value as the integer
(out of range is the same 400); any other integer field takes an integer only. API key
bodies are configuration: an unknown or read-only field is a 400 naming it. The actions
that take no body read no field, and still check what is sent as JSON (docs/api.md)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat.models import ApiKey
from integrations.services.rules import rule_save
from routing.services import conversation_assign
from tests.api.conftest import key_client
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db
HUGE = 2**63


@pytest.fixture
def staff():
    client = APIClient()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    return client


def _error(answer, status: int) -> dict:
    assert answer.status_code == status, answer.content
    return answer.json()["error"]


def _same(a: dict, b: dict) -> None:
    assert {k: a[k] for k in ("code", "message", "field")} == {
        k: b[k] for k in ("code", "message", "field")
    }


def test_a_digit_string_id_out_of_range_is_the_integer_s_400():
    site = make_site()
    customer = make_customer(site=site)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    agent = make_agent()
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    api, _ = key_client()
    for url, field in [
        ("/api/v1/conversations/", "customer"),
        (f"/api/v1/conversations/{conversation.pk}/transfer/", "to_agent"),
        (f"/api/v1/conversations/{conversation.pk}/transfer/", "to_queue"),
        (f"/api/v1/conversations/{conversation.pk}/handoff/", "to_queue"),
        ("/api/v1/customers/", "site"),
    ]:
        as_int = _error(api.post(url, {field: HUGE}, format="json"), 400)
        as_text = _error(api.post(url, {field: str(HUGE)}, format="json"), 400)
        assert as_int["code"] == "invalid_field" and as_int["field"] == field, as_int
        assert "out of range" in as_int["message"]
        _same(as_text, as_int)
        long = _error(api.post(url, {field: "9" * 5000}, format="json"), 400)
        _same(long, as_int)


def test_a_digit_string_id_in_range_is_the_id(staff):
    site = make_site()
    customer = make_customer(site=site)
    api, _ = key_client()
    answer = api.post("/api/v1/conversations/", {"customer": str(customer.pk)}, format="json")
    assert answer.status_code == 201, answer.content
    created = staff.post("/api/v1/api-keys/", {"name": "x", "site": str(site.pk)}, format="json")
    assert created.status_code == 201 and created.json()["site"] == site.pk
    for bad in ("1.0", " 1", "0x1", "\u0661", "-1", True):
        error = _error(api.post("/api/v1/conversations/", {"customer": bad}, format="json"), 400)
        assert error["field"] == "customer", bad


@pytest.mark.parametrize("field", ["daily_requests", "daily_bytes"])
@pytest.mark.parametrize("value", ["5", "", True])
def test_a_non_id_integer_takes_an_integer_only(staff, field, value):
    error = _error(staff.post("/api/v1/api-keys/", {"name": "x", field: value}, format="json"), 400)
    assert (error["code"], error["field"]) == ("invalid_field", field)
    key = ApiKey.objects.create(name="k")
    error = _error(staff.patch(f"/api/v1/api-keys/{key.pk}/", {field: value}, format="json"), 400)
    assert error["field"] == field
    assert (
        staff.post("/api/v1/api-keys/", {"name": "x", field: 5}, format="json").json()[field] == 5
    )


def test_an_api_key_body_refuses_unknown_and_read_only_fields(staff):
    error = _error(staff.post("/api/v1/api-keys/", {"name": "x", "zzz": 1}, format="json"), 400)
    assert (error["code"], error["field"]) == ("invalid_field", "zzz")
    key = ApiKey.objects.create(name="k")
    for field, value in [
        ("secret", "pk_mine"),
        ("prefix", "pk_x"),
        ("id", 5),
        ("is_active", False),
        ("revoked_at", None),
        ("scope", ["customers:read"]),  # misspelt scopes: not a key of every scope
    ]:
        for answer in (
            staff.patch(f"/api/v1/api-keys/{key.pk}/", {field: value}, format="json"),
            staff.post("/api/v1/api-keys/", {"name": "y", field: value}, format="json"),
        ):
            error = _error(answer, 400)
            assert error["field"] == field
    assert (
        "read-only"
        in _error(
            staff.patch(f"/api/v1/api-keys/{key.pk}/", {"secret": "pk_mine"}, format="json"), 400
        )["message"]
    )
    assert ApiKey.objects.count() == 1  # nothing created
    assert (
        staff.patch(f"/api/v1/api-keys/{key.pk}/", {"name": "z"}, format="json").status_code == 200
    )


def test_an_action_without_a_body_reads_none_and_checks_what_is_sent_as_json():
    site = make_site()
    rule = rule_save(site=site, name="r", event="message.created",
                     actions=[{"type": "tag", "tags": ["x"]}])  # fmt: skip
    api, _ = key_client()
    url = f"/api/v1/rules/{rule.pk}/pause/"
    assert api.post(url).status_code == 200  # nothing
    for body in ({}, {"enabled": True, "zzz": 1}):  # an object's fields are ignored
        assert api.post(url, body, format="json").status_code == 200
    sent = api.post(url, b"{not json", content_type="application/json")
    assert _error(sent, 400)["code"] == "parse_error"
    error = _error(api.post(url, json.dumps([1]), content_type="application/json"), 400)
    assert (error["code"], error["field"]) == ("invalid_field", "body")
    # A body of another type is not read at all.
    assert api.post(url, b"anything", content_type="text/plain").status_code == 200
