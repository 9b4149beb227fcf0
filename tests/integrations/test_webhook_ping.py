"""A test event on request (``POST /webhooks/{id}/ping/``, admin's "Send a test event"):
an integrator checks a receiver's URL and signature check before real events flow. The
ping is a delivery like any other: signed, logged, retried, in a lane of its own."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from integrations.models import HookEvent, WebhookDelivery, WebhookEndpoint
from integrations.services import delivery
from tests.factories import make_site
from tests.integrations.test_admin import admin  # noqa: F401 (the fixture)
from tests.integrations.test_api import client_for

pytestmark = pytest.mark.django_db


def test_a_ping_is_a_signed_delivery_the_receiver_verifies(site, endpoint, receiver):
    hook = endpoint()
    api = client_for(site)
    answer = api.post(f"/api/v1/webhooks/{hook.pk}/ping/")
    assert answer.status_code == 202, answer.content
    row = answer.json()
    assert row["event_type"] == "webhook.ping" and row["conversation"] is None
    assert row["state"] == "pending"
    sent = WebhookDelivery.objects.get(pk=row["id"])
    assert delivery.lane_run(endpoint_id=hook.pk, lane=sent.lane) == 1
    [request] = receiver.requests
    body = Webhook(hook.secret).verify(request["body"], request["headers"])
    assert body["type"] == "webhook.ping"
    assert body["data"] == {"webhook": {"id": hook.pk, "site": site.pk}}
    assert request["headers"]["webhook-id"] == row["event_id"]
    detail = api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/{row['id']}/").json()
    assert detail["state"] == "delivered" and detail["log"][0]["response_status"] == 200


def test_a_ping_never_waits_behind_a_conversation_s_retries(site, start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation, "one")
    receiver.plan = [500]
    delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)  # now waiting on a retry
    row = client_for(site).post(f"/api/v1/webhooks/{hook.pk}/ping/").json()
    ping = WebhookDelivery.objects.get(pk=row["id"])
    assert ping.lane != conversation.pk
    assert delivery.lane_run(endpoint_id=hook.pk, lane=ping.lane) == 1
    assert receiver.bodies()[-1]["type"] == "webhook.ping"


def test_a_disabled_endpoint_is_refused_and_nothing_is_queued(site, endpoint):
    hook = endpoint()
    WebhookEndpoint.objects.filter(pk=hook.pk).update(enabled=False)
    answer = client_for(site).post(f"/api/v1/webhooks/{hook.pk}/ping/")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "endpoint_disabled"
    assert not HookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_only_a_caller_who_may_write_the_site_s_webhooks_pings(site, endpoint):
    hook = endpoint()
    other = client_for(make_site(name="Other shop"))
    assert other.post(f"/api/v1/webhooks/{hook.pk}/ping/").status_code == 404
    reader = client_for(site, scopes=["webhooks:read"])
    assert reader.post(f"/api/v1/webhooks/{hook.pk}/ping/").status_code == 403
    assert client_for(site).post("/api/v1/webhooks/999999/ping/").status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_ping_is_listed_but_cannot_be_subscribed_to_or_trigger_a_rule(site, receiver):
    api = client_for(site)
    types = {e["name"]: e for e in api.get("/api/v1/webhooks/event-types/").json()}
    assert types["webhook.ping"]["subscribable"] is False
    assert types["webhook.ping"]["fields"] == ["webhook"]
    refused = api.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["webhook.ping"]}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "events"
    assert "POST /api/v1/webhooks/{id}/ping/" in refused.json()["error"]["message"]
    rule = api.post(
        "/api/v1/rules/",
        {"site": site.pk, "name": "x", "event": "webhook.ping",
         "actions": [{"type": "tag", "tags": ["x"]}]},
        format="json",
    )  # fmt: skip
    assert rule.status_code == 400 and rule.json()["error"]["field"] == "event"


def test_admin_sends_a_test_event(admin, endpoint):  # noqa: F811 (the fixture)
    hook = endpoint()
    page = admin.post(
        "/admin/integrations/webhookendpoint/",
        {"action": "ping", "_selected_action": [hook.pk]},
        follow=True,
    ).content.decode()
    ping = WebhookDelivery.objects.get(event__type="webhook.ping")
    assert f"Test event queued to {hook.url}: see delivery {ping.pk}." in page
