"""REST rate limits and quotas for authenticated callers (chat/api/throttles.py), against
the real Redis: visitor tokens keep to the socket's send rate, API keys to their rate and
daily quotas, with 429 + Retry-After, and the key's owner told once."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from chat.models import Message, QuotaNotice
from tests.factories import customer_actor, make_agent, make_customer, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.usefixtures("fresh_quotas")]


def visitor(customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Visitor {services.visitor_token_issue(customer=customer)}"
    )
    return client


def keyed(**fields) -> tuple[APIClient, object]:
    key, raw = services.api_key_create(name="sync")
    for name, value in fields.items():
        setattr(key, name, value)
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, key


def test_a_visitor_token_cannot_post_faster_than_the_socket_allows(settings):
    """A probe posted 29 msg/s over REST, around the socket's 10/s: the same budget now."""
    assert settings.PARLEY["API_VISITOR_RATE"] == "30/3s"  # the socket's 10/s, burst 30
    # The same budget over a window no busy machine outlasts (40 posts may take over 3 s):
    # what is tested is the count, not the clock.
    settings.PARLEY = {**settings.PARLEY, "API_VISITOR_RATE": "30/600s"}
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    client = visitor(customer)
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    statuses = [
        client.post(url, {"client_msg_id": f"m{i}", "body": "hi"}, format="json").status_code
        for i in range(40)
    ]
    assert statuses.count(201) == 30
    assert set(statuses[30:]) == {429}
    refused = client.post(url, {"client_msg_id": "late", "body": "hi"}, format="json")
    assert int(refused["Retry-After"]) >= 1
    error = refused.json()["error"]
    assert (error["code"], error["limit"]) == ("rate_limited", "rate")
    assert error["retry_after"] >= 1
    assert Message.objects.filter(conversation=conversation, kind="text").count() == 30
    # Another customer has a budget of their own.
    other = make_customer(site=customer.site)
    assert visitor(other).get("/api/v1/conversations/").status_code == 200


def test_an_api_key_over_its_rate_gets_429_and_its_owner_is_told_once(on_commit):
    owner = make_agent("keyowner")
    client, key = keyed(rate_limit="5/min", owner=owner)
    with on_commit(execute=True):
        statuses = [client.get("/api/v1/conversations/").status_code for _ in range(9)]
    assert statuses == [200] * 5 + [429] * 4
    response = client.get("/api/v1/conversations/")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
    assert "rate" in mail.outbox[0].subject
    notice = QuotaNotice.objects.get(kind="api_key", owner_id=str(key.pk))
    assert notice.limit == "rate"


def test_an_api_key_daily_request_quota(settings):
    client, _ = keyed(daily_requests=3)
    statuses = [client.get("/api/v1/conversations/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/conversations/")
    error = response.json()["error"]
    assert (error["code"], error["limit"]) == ("quota_exceeded", "daily_requests")
    assert int(response["Retry-After"]) > 60  # the window is a day


def test_an_api_key_daily_data_volume_counts_responses():
    """Seed 004: a sync that pulled too much. Responses count against the day's bytes."""
    customer = make_customer()
    for _ in range(3):
        conversation_actions.conversation_start(actor=customer_actor(customer))
    client, _ = keyed(daily_bytes=3000)
    sizes, statuses = [], []
    for _ in range(10):
        response = client.get("/api/v1/conversations/")
        statuses.append(response.status_code)
        sizes.append(len(response.content))
        if response.status_code == 429:
            break
    assert statuses[-1] == 429
    assert response.json()["error"]["limit"] == "daily_bytes"
    assert sum(sizes[:-1]) >= 3000 > sum(sizes[:-2])  # refused once the bytes were used up


def test_a_key_keeps_its_own_budget_apart_from_others():
    client, _ = keyed(rate_limit="2/min")
    other, _ = keyed(rate_limit="2/min")
    assert [client.get("/api/v1/conversations/").status_code for _ in range(3)] == [200, 200, 429]
    assert other.get("/api/v1/conversations/").status_code == 200


def test_agents_are_limited_too(settings, client):
    settings.PARLEY = {**settings.PARLEY, "API_AGENT_RATE": "3/min"}
    client.force_login(make_agent())
    statuses = [client.get("/api/v1/conversations/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_quota_store_down_past_the_bound_gets_503_with_retry_after(settings):
    settings.PARLEY = {**settings.PARLEY, "QUOTA_FAIL_OPEN_SECONDS": 0, "QUOTA_PROBE_SECONDS": 0}
    settings.REDIS_URL = "redis://127.0.0.1:8119/0"  # nothing listens there
    client, _ = keyed()
    assert client.get("/api/v1/conversations/").status_code == 200  # open: the first failure
    response = client.get("/api/v1/conversations/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "quota_unavailable"
    assert int(response["Retry-After"]) >= 1


def test_the_anonymous_limit_answers_in_the_documented_shape(monkeypatch):
    # DRF's own throttle said `throttled` without `limit`; the docs promise the codes
    # `rate_limited` / `quota_exceeded` and the limit's name on every 429.
    from chat.api.anon_throttle import AnonThrottle

    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    site = make_site()
    client = APIClient()
    for _ in range(4):
        response = client.post("/api/v1/widget/sessions/", {"site_key": site.key}, format="json")
        if response.status_code == 429:
            break
    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["code"], error["limit"]) == ("rate_limited", "rate")
    assert error["retry_after"] >= 1 and int(response["Retry-After"]) >= 1
