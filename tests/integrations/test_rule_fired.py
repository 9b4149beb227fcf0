"""rule.fired is addressed by a rule's webhook action, never subscribed to: an endpoint that
lists it is refused with a 400 that says where it goes (it used to be accepted and then
received nothing), and an endpoint with no events receives only what rules send it."""

from __future__ import annotations

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from chat import services
from chat.events import HOOK_EVENTS
from integrations.models import Rule, WebhookDelivery, WebhookEndpoint
from integrations.services.delivery import lane_run
from integrations.services.endpoints import site_hooks_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(site) -> APIClient:
    _, raw = services.api_key_create(name="zapier", site=site)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_subscribing_to_rule_fired_is_a_400_that_says_where_it_goes(api, receiver):
    body = {"url": receiver.url, "events": ["message.created", "rule.fired"]}
    refused = api.post("/api/v1/webhooks/", body, format="json")
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_field", "events")
    assert "the endpoint a rule's webhook action names" in error["message"]
    assert not WebhookEndpoint.objects.exists()
    made = api.post("/api/v1/webhooks/", {**body, "events": ["message.created"]}, format="json")
    assert made.status_code == 201, made.content
    patched = api.patch(
        f"/api/v1/webhooks/{made.json()['id']}/", {"events": ["rule.fired"]}, format="json"
    )
    assert patched.status_code == 400 and patched.json()["error"]["field"] == "events"
    assert WebhookEndpoint.objects.get().events == ["message.created"]


def test_the_event_types_say_which_can_be_subscribed_to(api):
    listed = api.get("/api/v1/webhooks/event-types/")
    assert listed.status_code == 200
    subscribable = {e["name"]: e["subscribable"] for e in listed.json()}
    assert subscribable == {
        name: name not in ("rule.fired", "webhook.ping") for name in HOOK_EVENTS
    }


def test_an_endpoint_with_no_events_gets_only_what_rules_send_it(api, site, start, send, receiver):
    made = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": []}, format="json")
    assert made.status_code == 201, made.content
    endpoint_id = made.json()["id"]
    rule = Rule.objects.create(
        site=site, name="tell the CRM", event="message.created",
        actions=[{"type": "webhook", "endpoint": endpoint_id}],
    )  # fmt: skip
    site_hooks_refresh(site_id=site.pk)
    conversation = start()
    with TestCase.captureOnCommitCallbacks(execute=True):
        send(conversation, "hello")
    # The message.created itself is not delivered (not subscribed); the rule's notice is.
    [delivery] = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
    assert delivery.event.type == "rule.fired"
    assert lane_run(endpoint_id=endpoint_id, lane=conversation.pk) == 1
    [body] = receiver.bodies()
    assert body["type"] == "rule.fired"
    assert body["data"]["rule"] == {"id": rule.pk, "name": "tell the CRM"}


def test_admin_refuses_rule_fired_and_takes_no_events(admin_client, site, receiver):
    data = {
        "site": site.pk, "url": receiver.url, "description": "", "events": '["rule.fired"]',
        "enabled": "on", "owner_email": "", "rate": "600/min", "daily_requests": "",
        "daily_bytes": "", "secret": "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=",
    }  # fmt: skip
    page = admin_client.post("/admin/integrations/webhookendpoint/add/", data).content.decode()
    assert "rule.fired cannot be subscribed to" in page
    assert not WebhookEndpoint.objects.exists()
    data["events"] = "[]"
    assert admin_client.post("/admin/integrations/webhookendpoint/add/", data).status_code == 302
    assert WebhookEndpoint.objects.get().events == []
