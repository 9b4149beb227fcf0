"""``GET /api/v1/me/``: an integrator checks a key (its site, scopes, expiry and limits)
before relying on it; any valid credentials may read themselves, whatever their scopes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.models import ApiKey
from tests.api.conftest import key_client, visitor_client
from tests.factories import make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db


def test_a_key_reads_itself_whatever_its_scopes(settings):
    settings.PARLEY = {**settings.PARLEY, "API_KEY_DAILY_REQUESTS": 5000}
    site = make_site()
    api, key = key_client(site=site, name="crm sync")
    ApiKey.objects.filter(pk=key.pk).update(scopes=["conversations:read"], rate_limit="90/min")
    answer = api.get("/api/v1/me/")
    assert answer.status_code == 200, answer.content
    me = answer.json()
    assert me["kind"] == "api_key" and me["agent"] is None and me["customer"] is None
    assert me["api_key"]["id"] == key.pk and me["api_key"]["name"] == "crm sync"
    assert me["api_key"]["site"] == site.pk
    assert me["api_key"]["scopes"] == ["conversations:read"]
    assert "secret" not in me["api_key"]
    assert me["api_key"]["last_used_at"] is not None  # this very call counts as a use
    assert {(x["name"], x["amount"], x["window"], x["measure"]) for x in me["limits"]} >= {
        ("rate", 90, 60, "requests"),
        ("daily_requests", 5000, 86400, "requests"),
    }


def test_a_revoked_key_is_refused():
    api, key = key_client()
    services.api_key_revoke(key=key)
    assert api.get("/api/v1/me/").status_code == 401


def test_a_visitor_and_an_agent_read_themselves():
    customer = make_customer(site=make_site())
    me = visitor_client(customer).get("/api/v1/me/").json()
    assert me["kind"] == "customer"
    assert me["customer"] == {"id": customer.pk, "site": customer.site_id}
    assert me["limits"][0]["name"] == "rate"
    agent = make_agent("ana")
    client = APIClient()
    client.force_login(agent)
    me = client.get("/api/v1/me/").json()
    assert me["kind"] == "agent" and me["api_key"] is None
    assert me["agent"]["username"] == "ana" and me["agent"]["is_supervisor"] is False


def test_no_credentials_is_a_401():
    answer = APIClient().get("/api/v1/me/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
