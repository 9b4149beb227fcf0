"""Every API error is JSON in the one shape {"error": {"code", "message", ...}}, including
the ones Django answers itself (probe findings of issue 13)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from chat.models import Message
from tests.factories import customer_actor, make_customer

pytestmark = pytest.mark.django_db


def shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.fixture
def key_client():
    _, raw = services.api_key_create(name="errors")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_url_that_matches_nothing_is_a_json_404(key_client):
    shape(key_client.get("/api/v1/nothing-here/"), 404, "not_found")
    shape(APIClient().get("/api/nothing/"), 404, "not_found")
    # Pages outside the API keep Django's HTML.
    assert APIClient().get("/nothing-here/")["Content-Type"].startswith("text/html")


def test_an_oversize_body_is_a_json_413(key_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"site_key": "x" * 2000})
    response = key_client.generic(
        "POST", "/api/v1/widget/sessions/", body, content_type="application/json"
    )
    shape(response, 413, "too_large")


def test_an_unhandled_exception_is_a_json_500(settings):
    settings.ROOT_URLCONF = "tests.api.boom_urls"
    client = APIClient(raise_request_exception=False)
    error = shape(client.get("/api/v1/boom/"), 500, "internal")
    assert "boom" not in error["message"]  # no internals leak


def test_a_nul_in_a_query_filter_is_a_400_not_a_500(key_client):
    error = shape(key_client.get("/api/v1/conversations/?status=%00"), 400, "invalid_field")
    assert error["field"].startswith("status")  # "status.0": the first value
    shape(key_client.get("/api/v1/conversations/?status=nonsense"), 400, "invalid_field")


def test_an_integer_where_a_string_is_expected_is_a_400():
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    _, raw = services.api_key_create(name="orders")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/conversations/{conversation.pk}/system-messages/"
    error = shape(client.post(url, {"body": 30645}, format="json"), 400, "invalid_field")
    assert error["field"] == "body"
    assert not Message.objects.filter(kind="system").exists()
    token = services.visitor_token_issue(customer=customer)
    visitor = APIClient()
    visitor.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    for body in ({"client_msg_id": "m1", "body": 30645}, {"client_msg_id": 7, "body": "hi"}):
        shape(visitor.post(url, body, format="json"), 400, "invalid_field")


def test_unauthenticated_and_wrong_method_are_in_the_shape():
    shape(APIClient().get("/api/v1/conversations/"), 401, "not_authenticated")
    shape(APIClient().get("/api/v1/widget/sessions/"), 405, "method_not_allowed")
