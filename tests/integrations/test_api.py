"""The webhook API: scoped API keys limited to their site, strict input (clear 400s),
the delivery log and replay."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import ApiKey, Site
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import delivery
from tests.factories import make_site

pytestmark = pytest.mark.django_db


def client_for(site=None, scopes=None):
    key, raw = services.api_key_create(name="ops", site=site)
    if scopes is not None:
        ApiKey.objects.filter(pk=key.pk).update(scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_create_list_update_and_delete(site, receiver):
    api = client_for(site)
    made = api.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "events": ["message.created", "csat.submitted"]},
        format="json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["site"] == site.pk and body["secret"].startswith("whsec_")
    assert Site.objects.get(pk=site.pk).hook_events["webhooks"] == [
        "csat.submitted",
        "message.created",
    ]
    listed = api.get("/api/v1/webhooks/").json()
    assert [e["id"] for e in listed["results"]] == [body["id"]] and listed["next"] is None
    # The secret is shown where it is made, never on a read: a key that may read webhooks
    # must not be able to sign deliveries in Parley's name.
    fetched = api.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in fetched and "secret" not in listed["results"][0]
    assert fetched["secret_prefix"] == body["secret"][:10] == body["secret_prefix"]
    patched = api.patch(f"/api/v1/webhooks/{body['id']}/", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert Site.objects.get(pk=site.pk).hook_events["webhooks"] == []
    assert api.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.example/", "events": ["message.created"]}, "url"),
        ({"url": 30645, "events": ["message.created"]}, "url"),
        ({"url": "https://x.example/", "events": ["message.sent"]}, "events"),
        ({"url": "https://x.example/", "events": "message.created"}, "events"),
        ({"url": "https://x.example/", "events": ["message.created"], "rate": "lots"}, "rate"),
        ({"url": "https://x.example/", "events": ["message.created"], "enabled": "yes"}, "enabled"),
        ({"url": "https://x.example/", "events": ["message.created"], "colour": "red"}, "colour"),
        ({"events": ["message.created"]}, "url"),
    ],
)
def test_bad_input_is_a_clear_400(site, body, field):
    response = client_for(site).post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_a_private_address_is_refused_unless_allowed(site, settings):
    settings.PARLEY_INTEGRATIONS = {**settings.PARLEY_INTEGRATIONS, "WEBHOOK_ALLOW_PRIVATE": False}
    # Loopback by address, and by names that resolve to it or are defined to (RFC 6761),
    # a fully qualified name's trailing dot included.
    for url in ("http://127.0.0.1:9/x", "http://localhost.:9/a", "http://LocalHost/",
                "http://api.localhost/", "http://[::1]:9/"):  # fmt: skip
        response = client_for(site).post(
            "/api/v1/webhooks/", {"url": url, "events": ["message.created"]}, format="json"
        )
        assert response.status_code == 400, url
        assert "private" in response.json()["error"]["message"], url


def test_keys_see_only_their_site_and_need_the_scope(site, endpoint):
    hook = endpoint()
    other = client_for(make_site())
    assert other.get(f"/api/v1/webhooks/{hook.pk}/").status_code == 404
    assert other.get("/api/v1/webhooks/").json()["results"] == []
    reader = client_for(site, scopes=["webhooks:read"])
    assert reader.get(f"/api/v1/webhooks/{hook.pk}/").status_code == 200
    denied = reader.patch(f"/api/v1/webhooks/{hook.pk}/", {"enabled": False}, format="json")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "scope_missing"
    none = client_for(site, scopes=["conversations:read"])
    assert none.get("/api/v1/webhooks/").status_code == 403
    # A key of one site cannot subscribe another.
    refused = client_for(site).post(
        "/api/v1/webhooks/",
        {"site": make_site().pk, "url": "https://x.example/", "events": ["message.created"]},
        format="json",
    )
    assert refused.status_code == 403


def test_the_delivery_log_and_replay(site, start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation, "one")
    receiver.plan = [500]
    delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)
    api = client_for(site)
    listed = api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/?state=pending").json()
    [row] = listed["results"]
    assert row["last_status"] == 500 and row["attempts"] == 1
    detail = api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/{row['id']}/").json()
    [attempt] = detail["log"]
    assert attempt["response_status"] == 500 and attempt["url"] == receiver.url
    # The headers as sent, without the signature (it is the secret's proof), and as answered.
    assert attempt["request_headers"]["webhook-id"] == detail["event_id"]
    assert "webhook-signature" not in attempt["request_headers"]
    assert attempt["response_headers"]["Content-Type"] == "application/json"
    replay = api.post(f"/api/v1/webhooks/{hook.pk}/deliveries/{row['id']}/replay/")
    assert replay.status_code == 202 and replay.json()["replay_of"] == row["id"]
    assert WebhookDelivery.objects.count() == 2
    assert api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/?state=nope").status_code == 400
    assert api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/?cursor=x").status_code == 400
    assert api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/999999/").status_code == 404


def test_pages_follow_the_cursor(site, receiver):
    api = client_for(site)
    ids = [
        api.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["csat.submitted"]},
                 format="json").json()["id"]
        for _ in range(3)
    ]  # fmt: skip
    first = api.get("/api/v1/webhooks/?limit=2").json()
    assert [e["id"] for e in first["results"]] == ids[:2] and first["next"]
    second = api.get(first["next"]).json()
    assert [e["id"] for e in second["results"]] == ids[2:] and second["next"] is None
    assert api.get("/api/v1/webhooks/?limit=0").status_code == 400


def test_a_post_takes_an_idempotency_key(site, receiver):
    api = client_for(site)
    body = {"url": receiver.url, "events": ["csat.submitted"]}
    first = api.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/webhooks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and WebhookEndpoint.objects.count() == 1
    other = api.post("/api/v1/webhooks/", {**body, "events": ["message.created"]},
                     format="json", HTTP_IDEMPOTENCY_KEY="k-1")  # fmt: skip
    assert other.status_code == 409
    # The secret is not kept for a replay (as an API key's): rotate to see a new one.
    assert first.json()["secret"].startswith("whsec_") and again.json()["secret"] is None


def test_rotating_the_secret_signs_the_next_deliveries_with_the_new_one(
    site, start, send, endpoint, receiver
):
    from standardwebhooks import Webhook

    hook = endpoint()
    old_secret = hook.secret
    api = client_for(site)
    rotated = api.post(f"/api/v1/webhooks/{hook.pk}/rotate-secret/")
    assert rotated.status_code == 200, rotated.content
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert "secret" not in api.get(f"/api/v1/webhooks/{hook.pk}/").json()
    conversation = start()
    send(conversation, "after the rotation")
    assert delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk) == 1
    [request] = receiver.requests
    raw, headers = request["body"].encode(), request["headers"]
    assert (
        Webhook(new_secret).verify(raw, headers)["data"]["message"]["body"] == "after the rotation"
    )
    # The old secret still verifies for WEBHOOK_SECRET_OVERLAP_SECONDS (the receiver switches
    # at its own pace: tests/integrations/test_webhook_rotation.py).
    assert Webhook(old_secret).verify(raw, headers)["type"] == "message.created"
    reader = client_for(site, scopes=["webhooks:read"])
    assert reader.post(f"/api/v1/webhooks/{hook.pk}/rotate-secret/").status_code == 403


def test_event_types_are_the_registry(site):
    from chat.events import HOOK_EVENTS

    names = [e["name"] for e in client_for(site).get("/api/v1/webhooks/event-types/").json()]
    assert sorted(names) == sorted(HOOK_EVENTS)


def test_a_visitor_token_cannot_manage_webhooks(site, customer):
    _, token = services.visitor_session_create(site_key=site.key, origin=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
    assert client.get("/api/v1/webhooks/").status_code == 403


def test_a_password_in_the_receivers_url_is_never_read_back(site):
    api = client_for(site)
    made = api.post(
        "/api/v1/webhooks/",
        {"url": "https://crm:s3cret@hooks.example.com/in", "events": ["message.created"]},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["url"] == "https://crm:***@hooks.example.com/in"
    read = api.get(f"/api/v1/webhooks/{made.json()['id']}/").json()
    assert read["url"] == "https://crm:***@hooks.example.com/in"
    assert "s3cret" not in json.dumps(api.get("/api/v1/webhooks/").json())
