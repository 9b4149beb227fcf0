"""A rule's fields are named in one style in every error, ``conditions[0].value`` (as the
format's own messages and docs/api.md write them): the JSON checks of the parser (an integer
past 64 bits, an unstorable character) said ``conditions.0.value``, and the NUL check of the
service named only the top field."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from chat import services
from chat.exceptions import ValidationError
from integrations.services.rules import rule_path, rule_save

pytestmark = pytest.mark.django_db

DOTTED_INDEX = re.compile(r"\.\d")
REFUND = {
    "name": "refunds",
    "event": "message.created",
    "conditions": [{"field": "message.text", "op": "contains", "value": "refund"}],
    "actions": [{"type": "tag", "tags": ["refund"]}],
}
BIG = 2**70


def client_for(site) -> APIClient:
    _, raw = services.api_key_create(name="ops", site=site)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (
            {"conditions": [{"field": "conversation.priority", "op": "gt", "value": BIG}]},
            "conditions[0].value",
            "integers are limited to 64 bits",
        ),
        (
            {
                "conditions": [
                    REFUND["conditions"][0],
                    {"any": [REFUND["conditions"][0], {"field": "x", "op": "eq", "value": -BIG}]},
                ]
            },
            "conditions[1].any[1].value",
            "integers are limited to 64 bits",
        ),
        (
            {"actions": [{"type": "priority", "value": BIG}]},
            "actions[0].value",
            "integers are limited to 64 bits",
        ),
        (
            {"actions": [REFUND["actions"][0], {"type": "transfer", "queue": "Bil\x00ling"}]},
            "actions[1].queue",
            "cannot be stored",
        ),
        (
            {"conditions": [{"field": "message.text", "op": "gt", "value": 1}]},
            "conditions[0].op",
            "message.text takes",
        ),
        (
            {"actions": [{"type": "priority", "value": 1000}]},
            "actions[0].value",
            "from -100 to 100",
        ),
    ],
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_every_rule_error_names_its_field_with_brackets(site, change, field, says, method):
    api = client_for(site)
    if method == "post":
        response = api.post("/api/v1/rules/", {**REFUND, **change}, format="json")
    else:
        made = api.post("/api/v1/rules/", REFUND, format="json").json()
        response = api.patch(f"/api/v1/rules/{made['id']}/", change, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"].startswith(field), error["message"]
    assert says in error["message"]
    assert not DOTTED_INDEX.search(error["field"] + error["message"].replace("message.", ""))


def test_the_service_names_a_nul_by_its_rule_path(site):
    """The admin form and the API share rule_save: its NUL check names the nested field."""
    with pytest.raises(ValidationError) as caught:
        rule_save(
            site=site,
            name="n",
            event="message.created",
            conditions=[REFUND["conditions"][0], {"any": [{"field": "x", "value": "a\x00"}]}],
            actions=REFUND["actions"],
        )
    assert caught.value.field == "conditions[1].any[0].value"
    assert str(caught.value) == "conditions[1].any[0].value must not contain NUL characters."


@pytest.mark.parametrize(
    ("dotted", "bracketed"),
    [
        ("conditions.0.value", "conditions[0].value"),
        ("conditions.12.any.3.field", "conditions[12].any[3].field"),
        ("actions.1", "actions[1]"),
        ("name", "name"),
        ("conditions[0].value", "conditions[0].value"),
        ("message.text", "message.text"),
    ],
)
def test_rule_path(dotted, bracketed):
    assert rule_path(dotted) == bracketed
