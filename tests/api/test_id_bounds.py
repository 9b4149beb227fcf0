"""Integers past 64 bits in a URL: every integer filter of every list is a 400 naming it
(chat.api.conversations.query), every id in a path a 404 (chat.api.url_middleware), on
PostgreSQL and on the embedded SQLite (where they were OverflowError, a 500). The
endpoints and their parameters are read from the OpenAPI schema, so a new one is walked
without being listed here."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

HUGE = ("9223372036854775808", "75949481555149176832", "99999999999999999999")
PLACEHOLDER = re.compile(r"\{([^}]+)\}")


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def callers():
    """A key of every scope and site, and a superuser's session (the staff-only API keys)."""
    key, _ = key_client()
    staff = APIClient()
    staff.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    return key, staff


def _integer_filters(schema: dict) -> list[tuple[str, str]]:
    found = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        for parameter in get.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                found.append((path, parameter["name"]))
    return found


def _id_paths(schema: dict) -> list[tuple[str, str, str]]:
    """(method, path, its integer path parameters) for every operation with an id in its path."""
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            ints = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "path" and p["schema"].get("type") == "integer"
            ]
            if ints:
                found.append((method, path, ints))
    return found


def test_the_schema_walk_finds_the_endpoints_the_probe_named(schema):
    filters = _integer_filters(schema)
    for expected in [
        ("/api/v1/conversations/", "queue"),
        ("/api/v1/conversations/", "assignee"),
        ("/api/v1/conversations/", "customer"),
        ("/api/v1/conversations/", "site"),
        ("/api/v1/customers/", "site"),
        ("/api/v1/agents/", "queue"),
    ]:
        assert expected in filters
    assert ("get", "/api/v1/agents/{user_id}/", ["user_id"]) in _id_paths(schema)


def test_every_integer_filter_past_64_bits_is_a_400_naming_it(schema, callers):
    key, staff = callers
    for path, name in _integer_filters(schema):
        for value in HUGE:
            answer = key.get(path, {name: value})
            if answer.status_code == 403:  # staff only (API keys): a superuser asks
                answer = staff.get(path, {name: value})
            assert answer.status_code == 400, (path, name, value, answer.content)
            error = answer.json()["error"]
            assert error["code"] == "invalid_field" and error["field"] == name, (path, error)
        # The bound is 2^63-1 itself: the largest id is a valid filter (nothing found).
        if name not in ("limit", "after_seq", "before_seq", "version"):
            biggest = key.get(path, {name: str(2**63 - 1)})
            if biggest.status_code == 403:
                biggest = staff.get(path, {name: str(2**63 - 1)})
            assert biggest.status_code in (200, 403), (path, name, biggest.content)


def test_the_schema_states_the_bound_of_every_integer_filter(schema):
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                    assert parameter["schema"].get("maximum", 2**63) <= 2**63 - 1, (path, parameter)


@pytest.mark.parametrize("value", HUGE)
def test_every_id_in_a_path_past_64_bits_is_a_404(schema, callers, value):
    key, staff = callers
    for method, path, _ in _id_paths(schema):
        url = PLACEHOLDER.sub(
            lambda m: {"slug": "welcome", "variant": "file"}.get(m[1], value), path
        )
        for client in (key, staff, APIClient()):  # before credentials, as a URL that is not
            answer = getattr(client, method)(url, {}, format="json")
            assert answer.status_code == 404, (method, url, answer.content)
            assert answer.json()["error"]["code"] == "not_found"


def test_an_id_in_range_still_reaches_the_view(callers):
    key, _ = callers
    # The bound is in the middle of nothing else: the largest id is looked up (404 not
    # found from the view), a small one too.
    assert key.get(f"/api/v1/agents/{2**63 - 1}/").status_code == 404
    assert key.get(f"/api/v1/conversations/{2**63 - 1}/").status_code == 404
    assert key.get("/api/v1/agents/").status_code == 200
