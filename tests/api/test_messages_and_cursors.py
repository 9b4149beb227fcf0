"""What an integrator's probe found inconsistent: a 429's message said its wait twice (DRF
appends "Expected available in N seconds." to the detail) or, from the anonymous throttle,
only "Request was throttled."; a cursor from one ordering's `next` link was accepted with
another ordering (or other filters) and returned other rows."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from tests.factories import customer_actor, make_customer, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_quotas")]


def keyed(**fields) -> APIClient:
    key, raw = services.api_key_create(name="probe")
    for name, value in fields.items():
        setattr(key, name, value)
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def assert_one_sentence(response) -> dict:
    assert response.status_code == 429
    error = response.json()["error"]
    message = error["message"]
    assert "Expected available" not in message and "Request was throttled" not in message
    assert ". " not in message and message.count(".") == 1, message  # one sentence
    assert message.endswith(f"retry in {error['retry_after']} s.")
    assert int(response["Retry-After"]) == error["retry_after"] >= 1
    return error


@pytest.mark.redis
def test_a_keyed_429_says_its_limit_and_wait_once():
    client = keyed(rate_limit="2/min")
    for _ in range(2):
        assert client.get("/api/v1/conversations/").status_code == 200
    error = assert_one_sentence(client.get("/api/v1/conversations/"))
    assert (error["code"], error["limit"]) == ("rate_limited", "rate")
    assert error["message"].startswith("Over the rate limit (2 requests per minute): retry in ")


@pytest.mark.redis
def test_a_daily_quota_429_says_it_once_too():
    client = keyed(daily_requests=1)
    assert client.get("/api/v1/conversations/").status_code == 200
    error = assert_one_sentence(client.get("/api/v1/conversations/"))
    assert (error["code"], error["limit"]) == ("quota_exceeded", "daily_requests")
    assert error["message"].startswith("Over the daily_requests limit (1 requests per day)")


def test_the_anonymous_429_says_too_many_requests_and_when(monkeypatch):
    from chat.api.anon_throttle import AnonThrottle

    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {"anon": "1/min"})
    site = make_site()
    client = APIClient(REMOTE_ADDR="203.0.113.77")
    statuses = []
    for _ in range(3):
        response = client.post("/api/v1/widget/sessions/", {"site_key": site.key}, format="json")
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    error = assert_one_sentence(response)
    assert (error["code"], error["limit"]) == ("rate_limited", "rate")
    assert error["message"].startswith("Too many requests: retry in ")


def _cursor_url(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.content
    assert page.json()["next"], page.json()
    return page.json()["next"]


def _with(url: str, **params) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(params)
    return f"{parts.path}?{urlencode(query)}"


@pytest.fixture
def conversations():
    site = make_site()
    made = []
    for _ in range(5):
        customer = make_customer(site=site)
        conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
        made.append(conversation.pk)
    return site, made


def test_a_cursor_used_with_another_ordering_is_a_400(conversations):
    client = keyed()
    following = _cursor_url(client, "/api/v1/conversations/?ordering=id&limit=2")
    assert client.get(following).status_code == 200  # as given: fine
    for other in ("-id", "created_at", "-created_at"):
        response = client.get(_with(following, ordering=other))
        assert response.status_code == 400, (other, response.content)
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_field", "cursor")
        assert "cursor belongs to another ordering (id)" in error["message"]
    # The default ordering is an ordering too: the cursor of ?ordering=id without it.
    dropped = _with(following)
    dropped = dropped.replace("ordering=id&", "").replace("&ordering=id", "")
    assert "ordering" not in dropped
    assert client.get(dropped).json()["error"]["field"] == "cursor"


def test_a_cursor_used_with_other_filters_is_a_400_and_limit_may_change(conversations):
    site, made = conversations
    client = keyed()
    following = _cursor_url(client, f"/api/v1/conversations/?ordering=id&limit=2&site={site.pk}")
    changed = client.get(_with(following, site=site.pk + 1))
    assert changed.status_code == 400
    error = changed.json()["error"]
    assert error["field"] == "cursor" and "other filters" in error["message"]
    added = client.get(_with(following, status="bot"))
    assert added.status_code == 400 and added.json()["error"]["field"] == "cursor"
    # `limit` is not bound: a client may ask for bigger pages as it goes.
    bigger = client.get(_with(following, limit=3))
    assert bigger.status_code == 200, bigger.content
    assert [c["id"] for c in bigger.json()["results"]] == sorted(made)[2:5]


def test_a_cursor_alone_is_read_with_the_default_ordering_and_a_forged_one_is_invalid(
    conversations,
):
    """``?cursor=`` alone means the default ordering (-created_at): a cursor of ``-id`` is
    refused, not read as a -created_at position."""
    client = keyed()
    following = _cursor_url(client, "/api/v1/conversations/?ordering=-id&limit=2")
    cursor = parse_qs(urlparse(following).query)["cursor"][0]
    response = client.get(f"/api/v1/conversations/?{urlencode({'cursor': cursor})}")
    assert response.status_code == 400
    assert "another ordering (-id)" in response.json()["error"]["message"]
    forged = client.get(f"/api/v1/conversations/?{urlencode({'cursor': cursor + 'x'})}")
    assert forged.status_code == 400 and forged.json()["error"]["message"] == "cursor is invalid."
