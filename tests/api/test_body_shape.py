"""A JSON body that is not an object (``[1]``, ``null``, ``"x"``, ``3``) is the same 400 on
every endpoint that takes a body: ``invalid_field`` on ``body``. Serializer-validated
endpoints answered ``non_field_errors`` and the webhooks and rules ``body``; endpoints that
read no body ignored it. The endpoints come from the OpenAPI schema, so a new one is covered
(and an unknown path parameter fails here until it is given an object)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from bots.models import Flow
from chat.models import Message
from integrations.models import HookEvent, WebhookDelivery, WebhookEndpoint
from integrations.services.rules import rule_save
from tests.api.conftest import key_client, visitor_client
from tests.factories import customer_actor, make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db

NOT_OBJECTS = [b"[1]", b"null", b'"x"', b"3", b"[]", b"true"]
BODY_METHODS = ("post", "put", "patch")


def body_operations() -> list[tuple[str, str, list[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path, list(op.get("requestBody", {}).get("content", {})))
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in BODY_METHODS
    ]


@pytest.fixture
def objects():
    """One real object for each path parameter of the schema, and callers of each kind."""
    site = make_site()
    customer = make_customer(site=site)
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    message = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    key_api, key = key_client()
    rule = rule_save(
        site=site,
        name="r",
        event="message.created",
        actions=[{"type": "tag", "tags": ["x"]}],
    )
    endpoint = WebhookEndpoint.objects.create(
        site=site, url="https://hooks.example.com/in", events=["message.created"]
    )
    event = HookEvent.objects.create(site=site, type="message.created", msg_id="msg_1", body={})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, lane=conversation.pk, next_attempt_at=timezone.now()
    )
    flow = Flow.objects.create(name="Flow", slug="body-shape")
    user = make_agent("staffer")
    user.is_staff = user.is_superuser = True
    user.save()
    staff = APIClient()
    staff.force_login(user)
    params = {
        "conversation_id": conversation.pk,
        "seq": message.seq if message else 1,
        "customer_id": customer.pk,
        "key_id": key.pk,
        "rule_id": rule.pk,
        "webhook_id": endpoint.pk,
        "delivery_id": delivery.pk,
        "slug": flow.slug,
    }
    callers = {"key": key_api, "visitor": visitor_client(customer), "staff": staff}
    return params, callers


def fill(path: str, params: dict) -> str:
    names = re.findall(r"{(\w+)}", path)
    unknown = [name for name in names if name not in params]
    assert not unknown, f"{path}: give the test an object for {unknown}"
    return re.sub(r"{(\w+)}", lambda m: str(params[m.group(1)]), path)


def test_the_schema_has_body_endpoints_to_check():
    operations = body_operations()
    assert len(operations) >= 20
    assert ("POST", "/api/v1/conversations/{conversation_id}/messages/", ["application/json"]) in (
        operations
    )


@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_every_endpoint_answers_a_body_that_is_not_an_object_with_400_body(objects, raw, settings):
    """Each caller either may not call the endpoint (401/403, checked first: authentication,
    scopes and throttles come before the body) or gets 400 ``body``, before the handler
    looks anything up; at least one caller gets the 400. A multipart-only endpoint (an
    upload) answers any JSON body 415."""
    # Every caller calls every endpoint within a second or two: past 30 endpoints the
    # visitor's own rate (API_VISITOR_RATE, 30 per 3 s) answered 429 before the body.
    settings.PARLEY = {**settings.PARLEY, "API_VISITOR_RATE": "1000/3s"}
    params, callers = objects
    missed = []
    for method, path, content in body_operations():
        url = fill(path, params)
        statuses = set()
        for caller in callers.values():
            response = caller.generic(method, url, raw, content_type="application/json")
            statuses.add(response.status_code)
            if content == ["multipart/form-data"]:
                assert response.status_code in (401, 403, 415), (method, url, response.content)
                continue
            if response.status_code in (401, 403):
                continue
            assert response.status_code == 400, (method, url, response.content)
            error = response.json()["error"]
            assert error == {
                "code": "invalid_field",
                "message": "The body must be a JSON object.",
                "field": "body",
            }, (method, url, error)
        if content != ["multipart/form-data"] and 400 not in statuses:
            missed.append((method, path, statuses))
    assert not missed, missed


def test_a_missing_object_is_still_a_400_for_a_bad_body():
    """The body's shape is checked before the handler: the same answer whether or not the
    conversation exists (a lookup first would say 404 for one and 400 for the other)."""
    client, _ = key_client()
    response = client.generic(
        "POST", "/api/v1/conversations/999999/tags/", b"[1]", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"


def test_an_object_body_still_reaches_the_serializer():
    client, _ = key_client()
    response = client.post("/api/v1/conversations/999999/tags/", {"add": ["x"]}, format="json")
    assert response.status_code == 404  # the lookup, now that the body is an object


def test_a_method_the_url_does_not_take_stays_405():
    client, _ = key_client()
    response = client.generic(
        "PATCH", "/api/v1/conversations/", b"[1]", content_type="application/json"
    )
    assert response.status_code == 405


def test_an_endpoint_without_a_body_ignores_an_empty_one(objects):
    params, callers = objects
    response = callers["key"].post(f"/api/v1/rules/{params['rule_id']}/pause/")
    assert response.status_code == 200, response.content
    refused = callers["key"].generic(
        "POST",
        f"/api/v1/rules/{params['rule_id']}/pause/",
        b"null",
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "body"
