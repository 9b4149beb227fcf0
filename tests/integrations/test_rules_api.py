"""The automation rules API: CRUD, pause and enable, the admin form's validation, the
rules scope, site limits, Idempotency-Key on POST and cursor pages; a rule made over the API
fires on the real flow."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from chat import services
from chat.models import SCOPES, ApiKey, ConversationEvent, Site
from integrations.models import Rule
from tests.factories import make_site

pytestmark = pytest.mark.django_db

REFUND = {
    "name": "refunds",
    "event": "message.created",
    "conditions": [{"field": "message.text", "op": "contains", "value": "refund"}],
    "actions": [{"type": "tag", "tags": ["refund"]}],
}


def client_for(site=None, scopes=None):
    key, raw = services.api_key_create(name="ops", site=site)
    if scopes is not None:
        ApiKey.objects.filter(pk=key.pk).update(scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_new_keys_get_the_rules_scopes():
    assert {"rules:read", "rules:write"} <= set(SCOPES)
    key, _ = services.api_key_create(name="all")
    assert {"rules:read", "rules:write"} <= set(key.scopes)


def test_create_get_update_pause_enable_and_delete(site, start, send):
    api = client_for(site)
    made = api.post("/api/v1/rules/", REFUND, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["site"], body["enabled"], body["runs"]) == (site.pk, True, 0)
    assert Site.objects.get(pk=site.pk).hook_events["rules"] == ["message.created"]
    url = f"/api/v1/rules/{body['id']}/"
    assert api.get(url).json() == body
    # The rule fires on the real flow.
    conversation = start()
    with TestCase.captureOnCommitCallbacks(execute=True):
        send(conversation, "a refund please")
    conversation.refresh_from_db()
    assert conversation.tags == ["refund"]
    assert ConversationEvent.objects.filter(conversation=conversation, type="rule.run").exists()
    patched = api.patch(url, {"name": "refunds v2", "position": 3}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["name"], patched.json()["position"]) == ("refunds v2", 3)
    paused = api.post(f"{url}pause/")
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert Site.objects.get(pk=site.pk).hook_events["rules"] == []
    Rule.objects.filter(pk=body["id"]).update(paused_until="2999-01-01T00:00:00Z")
    enabled = api.post(f"{url}enable/")
    assert enabled.status_code == 200
    assert (enabled.json()["enabled"], enabled.json()["paused_until"]) == (True, None)
    assert Site.objects.get(pk=site.pk).hook_events["rules"] == ["message.created"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert Site.objects.get(pk=site.pk).hook_events["rules"] == []


def test_the_api_refuses_what_the_admin_form_refuses_with_the_same_words(site):
    api = client_for(site)
    bad = {
        **REFUND,
        "conditions": [{"field": "message.text", "op": "gt", "value": 1}],
        "actions": [{"type": "transfer", "queue": "Nowhere"}],
        "rate": "often",
    }
    response = api.post("/api/v1/rules/", bad, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "conditions[0].op"
    assert "conditions[0].op: message.text takes" in error["message"]
    assert "actions[0].queue: no active queue named" in error["message"]
    assert "rate:" in error["message"]
    assert not Rule.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "message.sent"}, "event"),
        ({"event": "rule.fired"}, "event"),
        ({"actions": []}, "actions"),
        ({"actions": "tag"}, "actions"),
        ({"conditions": {"field": "x"}}, "conditions"),
        ({"name": 30645}, "name"),
        ({"name": ""}, "name"),
        ({"enabled": "yes"}, "enabled"),
        ({"position": -1}, "position"),
        ({"position": 2**63}, "position"),
        ({"position": True}, "position"),
        ({"owner_email": 7}, "owner_email"),
        ({"time_budget": "forever"}, "time_budget"),
        ({"colour": "red"}, "colour"),
        ({"site": "1"}, "site"),
        ({"event": "\x00"}, "event"),
        ({"name": "a\x00b"}, "name"),
        ({"actions": [{"type": "transfer", "queue": "Bil\x00ling"}]}, "actions"),
        ({"conditions": [{"field": "message.text", "op": "eq", "value": "\x00"}]}, "conditions"),
        ({"owner_email": "a@b\x00"}, "owner_email"),
    ],
)
def test_bad_rule_bodies_are_400_with_the_field(site, change, field):
    api = client_for()
    response = api.post("/api/v1/rules/", {**REFUND, "site": site.pk, **change}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"].startswith(field)


def test_a_rule_cannot_move_site_and_bad_patches_change_nothing(site):
    api = client_for(site)
    rule_id = api.post("/api/v1/rules/", REFUND, format="json").json()["id"]
    url = f"/api/v1/rules/{rule_id}/"
    assert api.patch(url, {"site": make_site().pk}, format="json").status_code == 400
    assert api.patch(url, {"actions": [{"type": "fly"}]}, format="json").status_code == 400
    assert api.patch(url, ["not", "an", "object"], format="json").status_code == 400
    assert Rule.objects.get(pk=rule_id).actions == REFUND["actions"]


def test_scopes_and_site_limits(site):
    other = make_site()
    theirs = client_for(other).post("/api/v1/rules/", REFUND, format="json").json()["id"]
    api = client_for(site)
    assert api.get(f"/api/v1/rules/{theirs}/").status_code == 404
    assert api.post(f"/api/v1/rules/{theirs}/pause/").status_code == 404
    assert api.delete(f"/api/v1/rules/{theirs}/").status_code == 404
    assert api.get("/api/v1/rules/").json()["results"] == []
    wrong_site = api.post("/api/v1/rules/", {**REFUND, "site": other.pk}, format="json")
    assert wrong_site.status_code == 403
    missing = client_for().post("/api/v1/rules/", {**REFUND, "site": 2**62}, format="json")
    assert (missing.status_code, missing.json()["error"]["field"]) == (400, "site")
    reader = client_for(site, scopes=["rules:read"])
    assert reader.get("/api/v1/rules/").status_code == 200
    refused = reader.post("/api/v1/rules/", REFUND, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "scope_missing")
    none = client_for(site, scopes=["webhooks:read", "webhooks:write"])
    assert none.get("/api/v1/rules/").status_code == 403
    # An agent's session is not staff with the permission.
    assert APIClient().get("/api/v1/rules/").status_code in (401, 403)


def test_idempotency_key_on_create(site):
    api = client_for(site)
    first = api.post("/api/v1/rules/", REFUND, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    again = api.post("/api/v1/rules/", REFUND, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and Rule.objects.count() == 1
    other = api.post(
        "/api/v1/rules/", {**REFUND, "name": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert other.status_code == 409


def test_cursor_pages_filters_and_orderings(site):
    api = client_for(site)
    made = []
    for n in range(5):
        body = {**REFUND, "name": f"r{n}", "position": 5 - n}
        if n % 2:
            body["event"] = "conversation.created"
            body["conditions"] = []
        made.append(api.post("/api/v1/rules/", body, format="json").json()["id"])

    def walk(params) -> list[int]:
        url, ids = f"/api/v1/rules/?{urlencode(params)}", []
        while url:
            page = api.get(url)
            assert page.status_code == 200, page.content
            ids += [r["id"] for r in page.json()["results"]]
            url = page.json()["next"]
        return ids

    assert walk({"limit": 2}) == made[::-1]  # run order: position ascending
    assert walk({"limit": 2, "ordering": "id"}) == made
    assert walk({"event": "conversation.created"}) == [made[3], made[1]]
    Rule.objects.filter(pk=made[0]).update(enabled=False)
    assert walk({"enabled": "false"}) == [made[0]]
    for params, field in (
        ({"ordering": "name"}, "ordering"),
        ({"enabled": "maybe"}, "enabled"),
        ({"event": "x\x00"}, "event"),
        ({"site": str(2**64)}, "site"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "nope"}, "cursor"),
    ):
        response = api.get(f"/api/v1/rules/?{urlencode(params)}")
        assert response.status_code == 400, (params, response.content)
        assert response.json()["error"]["field"].startswith(field)


@pytest.mark.django_db
def test_what_an_action_names_must_exist_when_the_rule_is_saved():
    from integrations.services.endpoints import endpoint_save
    from tests.factories import make_agent

    site, other = make_site(), make_site()
    theirs = endpoint_save(site=other, url="https://hooks.example/x", events=["message.created"])
    api = client_for(site)
    cases = [
        ({"type": "webhook", "endpoint": 99_999}, "actions[0].endpoint"),
        ({"type": "webhook", "endpoint": theirs.pk}, "actions[0].endpoint"),  # another site's
        ({"type": "assign", "agent": "nobody"}, "actions[0].agent"),
    ]
    for action, field in cases:
        response = api.post("/api/v1/rules/", {**REFUND, "actions": [action]}, format="json")
        assert response.status_code == 400, (action, response.content)
        assert response.json()["error"]["field"] == field
    mine = endpoint_save(site=site, url="https://hooks.example/y", events=["message.created"])
    agent = make_agent("rule_target")
    for action in ({"type": "webhook", "endpoint": mine.pk},
                   {"type": "assign", "agent": agent.username}):  # fmt: skip
        response = api.post("/api/v1/rules/", {**REFUND, "actions": [action]}, format="json")
        assert response.status_code == 201, response.content
    assert Rule.objects.filter(site=site).count() == 2
