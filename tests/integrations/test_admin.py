"""Admin: rules and endpoints are validated and keep the site's listened events; deliveries
are a read-only log with a replay action; a disabled endpoint is announced."""

from __future__ import annotations

import json

import pytest

from chat.models import Site
from integrations.models import Rule, WebhookDelivery, WebhookEndpoint
from integrations.services import delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def rule_form(site, **values) -> dict:
    data = {
        "site": site.pk, "name": "refunds", "event": "message.created", "position": 0,
        "conditions": json.dumps([{"field": "message.text", "op": "contains", "value": "refund"}]),
        "actions": json.dumps([{"type": "tag", "tags": ["refund"]}]),
        "enabled": "on", "owner_email": "", "rate": "600/min", "daily_requests": "100000/day",
        "time_budget": "2000/min",
    }  # fmt: skip
    data.update(values)
    return data


def test_a_valid_rule_is_saved_and_its_site_listens(admin, site):
    response = admin.post("/admin/integrations/rule/add/", rule_form(site))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Rule.objects.get().name == "refunds"
    assert Site.objects.get(pk=site.pk).hook_events["rules"] == ["message.created"]


def test_an_invalid_rule_is_refused_with_every_problem(admin, site):
    response = admin.post(
        "/admin/integrations/rule/add/",
        rule_form(
            site,
            conditions=json.dumps([{"field": "message.text", "op": "gt", "value": 1}]),
            actions=json.dumps([{"type": "transfer", "queue": "Nowhere"}]),
            rate="often",
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "conditions[0].op: message.text takes" in page
    assert "actions[0].queue: no active queue named" in page
    assert "rate:" in page
    assert not Rule.objects.exists()


def test_an_endpoint_saved_in_admin_is_validated_and_listened_to(admin, site, receiver):
    data = {
        "site": site.pk, "url": receiver.url, "description": "", "events": '["nope"]',
        "enabled": "on", "owner_email": "", "rate": "600/min", "daily_requests": "",
        "daily_bytes": "", "secret": "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=",
    }  # fmt: skip
    page = admin.post("/admin/integrations/webhookendpoint/add/", data).content.decode()
    assert "unknown event types" in page
    data["events"] = '["conversation.resolved"]'
    assert admin.post("/admin/integrations/webhookendpoint/add/", data).status_code == 302
    assert Site.objects.get(pk=site.pk).hook_events["webhooks"] == ["conversation.resolved"]


def test_replay_action_and_the_disabled_notice(admin, start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation)
    delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)
    original = WebhookDelivery.objects.get()
    page = admin.get(f"/admin/integrations/webhookdelivery/{original.pk}/change/").content.decode()
    assert "message.created" in page
    admin.post(
        "/admin/integrations/webhookdelivery/",
        {"action": "replay", "_selected_action": [original.pk]},
    )
    assert WebhookDelivery.objects.filter(replay_of=original).exists()
    WebhookEndpoint.objects.filter(pk=hook.pk).update(
        enabled=False, disabled_reason="failing since before 2026-12-01 10:00 UTC"
    )
    page = admin.get("/admin/integrations/webhookendpoint/").content.decode()
    assert f"Webhook {hook.url} was disabled: failing since" in page
