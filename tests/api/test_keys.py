"""API keys: scopes per resource, expiry, revocation, last use stored coalesced; managed in
admin and over the API, the secret shown once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from chat import services
from chat.models import SCOPES, ApiKey, hash_api_key
from chat.services import api_keys
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def test_a_key_without_the_scope_gets_403_scope_missing():
    client, _ = key_client(scopes=["conversations:read"])
    assert client.get("/api/v1/conversations/").status_code == 200
    refused = client.post("/api/v1/conversations/", {"customer": 1}, format="json")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "scope_missing" and "conversations:write" in error["message"]
    for url in ("/api/v1/customers/", "/api/v1/queues/", "/api/v1/agents/", "/api/v1/bots/flows/"):
        assert client.get(url).json()["error"]["code"] == "scope_missing", url


def test_scopes_are_checked_per_resource_and_access():
    client, _ = key_client(scopes=["queues:read", "agents:read", "flows:read"])
    assert client.get("/api/v1/queues/").status_code == 200
    assert client.get("/api/v1/agents/").status_code == 200
    assert client.get("/api/v1/bots/flows/").status_code == 200
    assert client.get("/api/v1/conversations/").status_code == 403


def test_unknown_scopes_are_refused():
    with pytest.raises(services.api_keys.ValidationError):
        services.api_key_create(name="x", scopes=["conversations:admin"])


def test_an_expired_key_says_so_and_a_revoked_one_is_invalid():
    client, key = key_client()
    assert client.get("/api/v1/conversations/").status_code == 200
    key.expires_at = timezone.now() - dt.timedelta(seconds=1)
    key.save()
    response = client.get("/api/v1/conversations/")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "api_key_expired")
    key.expires_at = timezone.now() + dt.timedelta(days=1)
    key.save()
    assert client.get("/api/v1/conversations/").status_code == 200
    services.api_key_revoke(key=key)
    key.refresh_from_db()
    assert key.revoked_at is not None and not key.is_active
    response = client.get("/api/v1/conversations/")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "api_key_invalid")


def test_last_use_is_stored_once_a_minute_not_per_request():
    client, key = key_client()
    assert key.last_used_at is None
    client.get("/api/v1/conversations/")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    for _ in range(5):
        client.get("/api/v1/conversations/")
    key.refresh_from_db()
    assert key.last_used_at == first  # coalesced
    # Another process (no memo) does not write either: the stored time is recent.
    api_keys.forget_touches()
    assert api_keys.api_key_touch(key=key) is False
    # A minute on, it is stored again.
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    api_keys.forget_touches()
    assert api_keys.api_key_touch(key=key) is True


@pytest.fixture
def staff():
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = APIClient()
    client.force_login(user)
    return client, user


def test_keys_are_managed_over_the_api_and_the_secret_is_shown_once(staff):
    client, user = staff
    created = client.post(
        "/api/v1/api-keys/",
        {"name": "crm", "scopes": ["customers:read", "customers:write"], "owner": user.pk,
         "rate_limit": "100/min", "daily_requests": 5000},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("pk_") and body["prefix"] == secret[:10]
    key = ApiKey.objects.get(pk=body["id"])
    assert key.key_hash == hash_api_key(secret) and secret not in str(key.__dict__)
    fetched = client.get(f"/api/v1/api-keys/{key.pk}/").json()
    assert "secret" not in fetched and fetched["scopes"] == ["customers:read", "customers:write"]
    listing = client.get("/api/v1/api-keys/").json()
    assert [k["id"] for k in listing["results"]] == [key.pk] and "secret" not in listing["results"][
        0
    ]
    updated = client.patch(
        f"/api/v1/api-keys/{key.pk}/", {"scopes": ["customers:read"], "name": "crm2"}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["scopes"] == ["customers:read"]
    bad = client.patch(f"/api/v1/api-keys/{key.pk}/", {"rate_limit": "lots"}, format="json")
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "rate_limit")
    bad = client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["nope:read"]}, format="json")
    assert bad.status_code == 400
    revoked = client.post(f"/api/v1/api-keys/{key.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["is_active"] is False
    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert keyed.get("/api/v1/customers/").status_code == 401


def test_keys_cannot_manage_keys_and_agents_need_the_permission():
    client, _ = key_client()
    assert client.get("/api/v1/api-keys/").status_code == 403
    from tests.factories import make_agent

    agent = APIClient()
    agent.force_login(make_agent())
    assert agent.get("/api/v1/api-keys/").status_code == 403


def test_keys_are_managed_in_admin_with_scopes_and_the_secret_once(admin_client):
    response = admin_client.post(
        "/admin/chat/apikey/add/",
        {"name": "erp", "scopes": ["queues:read", "agents:read"], "is_active": "on",
         "rate_limit": "", "daily_requests": "", "daily_bytes": ""},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    key = ApiKey.objects.get(name="erp")
    assert key.scopes == ["queues:read", "agents:read"]
    shown = [str(m) for m in response.context["messages"]]
    assert any(key.prefix in m and "not shown again" in m for m in shown)
    page = admin_client.get(f"/admin/chat/apikey/{key.pk}/change/")
    assert key.prefix.encode() in page.content and b"not shown again" not in page.content
    bad = admin_client.post(
        "/admin/chat/apikey/add/",
        {"name": "bad", "scopes": [], "is_active": "on", "rate_limit": "lots"},
    )
    assert bad.status_code == 200 and not ApiKey.objects.filter(name="bad").exists()
    admin_client.post(
        "/admin/chat/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert not key.is_active and key.revoked_at is not None


def test_all_scopes_listed():
    assert (
        len(SCOPES) == 18
        and "rules:write" in SCOPES
        and "webhooks:write" in SCOPES
        and "reports:read" in SCOPES
    )


def test_a_daily_limit_past_postgresqls_bigint_is_a_400(admin_client):
    for field in ("daily_requests", "daily_bytes"):
        response = admin_client.post(
            "/api/v1/api-keys/",
            {"name": "big", "scopes": ["conversations:read"], field: 2**63},
            content_type="application/json",
        )
        assert response.status_code == 400, response.content
        assert response.json()["error"]["field"] == field


def test_a_key_created_without_scopes_gets_every_scope(admin_client):
    from chat.models import SCOPES

    response = admin_client.post(
        "/api/v1/api-keys/", {"name": "all"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert set(response.json()["scopes"]) == set(SCOPES)  # as docs/api.md says


def test_a_401_challenges_for_the_credentials_that_were_refused():
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION="Bearer pk_not-a-real-key")
    refused = bearer.get("/api/v1/conversations/")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    nobody = APIClient().get("/api/v1/conversations/")
    assert nobody.status_code == 401 and nobody["WWW-Authenticate"] == "Bearer, Visitor"


def test_a_key_cannot_be_made_already_expired():
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client = APIClient()
    client.force_login(admin)
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    got = client.post("/api/v1/api-keys/", {"name": "late", "expires_at": past}, format="json")
    assert got.status_code == 400 and got.json()["error"]["field"] == "expires_at"
    assert not ApiKey.objects.filter(name="late").exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rate_limit": "0/min"}, "rate_limit"),
        ({"rate_limit": " 00 / hour"}, "rate_limit"),
        ({"daily_requests": 0}, "daily_requests"),
        ({"daily_bytes": 0}, "daily_bytes"),
    ],
)
def test_a_limit_of_zero_which_would_mean_none_is_refused(staff, body, field):
    client, _ = staff
    created = client.post("/api/v1/api-keys/", {"name": "crm", **body}, format="json")
    assert created.status_code == 400, created.content
    assert created.json()["error"]["field"] == field
    key = client.post("/api/v1/api-keys/", {"name": "ok"}, format="json").json()
    changed = client.patch(f"/api/v1/api-keys/{key['id']}/", body, format="json")
    assert changed.status_code == 400, changed.content
    assert changed.json()["error"]["field"] == field
