"""A query parameter given more than once is a 400 naming it, unless the schema declares it
an array (ApiView.repeatable_params): Django hands a view the last value, so
``?limit=abc&limit=5`` was a page of 5 and the bad value was never seen."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve
from rest_framework.test import APIClient

from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"\{([^}]+)\}")
NAMED = {
    "slug": "welcome",
    "variant": "file",
    "attachment_id": "5b0e2c3d-0000-4000-8000-000000000000",
}
ARRAY_VALUES = {"status": "queued", "tag": "vip", "sender_type": "customer"}


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


@pytest.fixture
def callers():
    key, _ = key_client()
    staff = APIClient()
    staff.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    return key, staff


def _operations(schema: dict):
    """(method, url, {query parameter: is it an array}) of every operation with a query."""
    for path, operations in schema["paths"].items():
        url = PLACEHOLDER.sub(lambda m: NAMED.get(m[1], "1"), path)
        for method, operation in operations.items():
            query = {
                p["name"]: p["schema"].get("type") == "array"
                for p in operation.get("parameters", [])
                if p["in"] == "query"
            }
            if query:
                yield method, url, query


def _ask(callers, method: str, url: str, params: str):
    key, staff = callers
    answer = None
    for client in (key, staff):  # staff-only endpoints (API keys) refuse the key: 403
        answer = getattr(client, method)(f"{url}?{params}", {}, format="json")
        if answer.status_code != 403:
            break
    return answer


@pytest.mark.parametrize(
    "params",
    [
        "limit=abc&limit=5",
        "ordering=nope&ordering=id",
        "queue=abc&queue=1",
        "q=a&q=abc",
        "limit=5&limit=5",
        "cursor=x&cursor=y",
    ],
)
def test_the_probe_s_repeated_parameters_are_a_400_naming_them(params):
    api, _ = key_client()
    answer = api.get(f"/api/v1/conversations/?{params}")
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "invalid_field"
    assert error["field"] == params.split("=")[0]


def test_a_flow_export_s_version_twice_is_a_400(callers):
    answer = _ask(callers, "get", "/api/v1/bots/flows/welcome/export/", "version=abc&version=1")
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "version"


def test_every_scalar_query_parameter_of_the_schema_given_twice_is_a_400(schema, callers):
    for method, url, query in _operations(schema):
        for name, is_array in query.items():
            if is_array:
                continue
            answer = _ask(callers, method, url, f"{name}=1&{name}=1")
            assert answer.status_code == 400, (method, url, name, answer.content)
            assert answer.json()["error"]["field"] == name, (method, url, answer.content)


def test_the_arrays_of_the_schema_are_the_views_repeatable_parameters(schema, callers):
    for method, url, query in _operations(schema):
        arrays = {name for name, is_array in query.items() if is_array}
        view = resolve(url).func.view_class
        assert set(view.repeatable_params) == arrays, (method, url)
        for name in arrays:
            value = ARRAY_VALUES[name]
            answer = _ask(callers, method, url, f"{name}={value}&{name}={value}")
            assert answer.status_code != 400 or answer.json()["error"].get("field") != name, (
                url,
                name,
                answer.content,
            )


def test_repeated_statuses_still_filter():
    api, _ = key_client()
    answer = api.get("/api/v1/conversations/?status=queued&status=assigned&tag=a&tag=b")
    assert answer.status_code == 200, answer.content
    # A parameter no endpoint takes is ignored, given once; twice it is refused all the same.
    assert api.get("/api/v1/conversations/?zzz=1").status_code == 200
    assert api.get("/api/v1/conversations/?zzz=1&zzz=2").status_code == 400
