"""RateLimit-* headers (the IETF httpapi draft's fields) on every metered answer, so an
integrator slows down before a 429 instead of learning the limit from one: the request limit
closest to running out, the calls left, when its window has moved on, and every limit."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from chat.models import ApiKey
from tests.api.conftest import key_client, visitor_client
from tests.factories import make_customer, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.usefixtures("fresh_quotas")]


def headers(response) -> dict[str, str]:
    return {k: v for k, v in response.items() if k.lower().startswith("ratelimit-")}


def test_an_api_key_counts_down_to_its_429(settings):
    settings.PARLEY = {**settings.PARLEY, "API_KEY_DAILY_REQUESTS": 1000}
    api, key = key_client()
    ApiKey.objects.filter(pk=key.pk).update(rate_limit="3/min")
    seen = [headers(api.get("/api/v1/conversations/")) for _ in range(3)]
    assert [h["RateLimit-Remaining"] for h in seen] == ["2", "1", "0"]
    assert {h["RateLimit-Limit"] for h in seen} == {"3"}
    assert {h["RateLimit-Reset"] for h in seen} == {"60"}
    assert seen[0]["RateLimit-Policy"] == "3;w=60, 1000;w=86400"
    refused = api.get("/api/v1/conversations/")
    assert refused.status_code == 429
    assert headers(refused)["RateLimit-Remaining"] == "0"
    assert headers(refused)["RateLimit-Reset"] == refused["Retry-After"]
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_daily_quota_shows_when_it_is_the_tighter(settings):
    settings.PARLEY = {**settings.PARLEY, "API_KEY_DAILY_REQUESTS": 2}
    api, _ = key_client()
    first = headers(api.get("/api/v1/conversations/"))
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("2", "1")
    assert first["RateLimit-Reset"] == "86400"


def test_visitors_and_agents_see_theirs_anonymous_calls_none(settings):
    settings.PARLEY = {**settings.PARLEY, "API_VISITOR_RATE": "30/3s"}
    customer = make_customer(site=make_site())
    visitor = visitor_client(customer).get("/api/v1/conversations/")
    assert visitor.status_code == 200
    assert headers(visitor)["RateLimit-Policy"] == "30;w=3"
    assert headers(visitor)["RateLimit-Remaining"] == "29"
    anonymous = APIClient().get("/api/v1/conversations/")
    assert anonymous.status_code == 401 and headers(anonymous) == {}


def test_a_browser_integration_can_read_them():
    api, _ = key_client()
    response = api.get("/api/v1/conversations/", HTTP_ORIGIN="https://shop.example")
    exposed = {x.strip() for x in response["Access-Control-Expose-Headers"].split(",")}
    assert set(headers(response)) <= exposed and len(headers(response)) == 4


def test_the_schema_documents_them():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    listed = schema["paths"]["/api/v1/conversations/"]["get"]["responses"]
    assert {"RateLimit-Limit", "RateLimit-Remaining"} <= set(listed["200"]["headers"])
    assert {"Retry-After", "RateLimit-Reset"} <= set(listed["429"]["headers"])
    assert "headers" not in listed["401"]


def test_a_429_for_the_byte_quota_says_nothing_is_left_until_retry_after():
    api, key = key_client()
    ApiKey.objects.filter(pk=key.pk).update(daily_bytes=300)
    for _ in range(20):
        answer = api.get("/api/v1/me/")
        if answer.status_code == 429:
            break
    assert answer.status_code == 429 and answer.json()["error"]["limit"] == "daily_bytes"
    assert headers(answer)["RateLimit-Remaining"] == "0"
    assert headers(answer)["RateLimit-Reset"] == answer["Retry-After"]
    assert headers(answer)["RateLimit-Limit"] == "300"
