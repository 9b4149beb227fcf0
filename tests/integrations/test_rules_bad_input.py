"""Wrongly typed rule fields are a 400 naming the field, never a 500: a list or an object
where a name is expected (the event, a condition's field or op, an action's type) was a
TypeError in a dict or set lookup, and a non-object item in an over-long actions list
reached the checks that read the database. A rule's error lists every problem at once."""

from __future__ import annotations

import json

import pytest

from integrations.models import Rule
from integrations.services.rules import rule_check

from .test_admin import admin, rule_form  # noqa: F401  (the admin fixture)
from .test_rules_api import REFUND, client_for

pytestmark = pytest.mark.django_db

TAG = {"type": "tag", "tags": ["x"]}
TEXT = {"field": "message.text", "op": "eq", "value": "x"}
WEIRD = [[], {}, 1, 1.5, True, None, [[]], ["x"]]  # what a name (a string) must not be


def cond(**change):
    return {"conditions": [{**TEXT, **change}]}


def act(**change):
    return {"actions": [{**TAG, **change}]}


BAD = [
    *[({"event": v}, "event") for v in [*WEIRD, ["message.created"], "rule.fired"]],
    *[({"conditions": v}, "conditions") for v in [{}, 1, "x", None, True, [TEXT] * 21]],
    *[({"conditions": [v]}, "conditions[0]") for v in [1, None, True, "x", [], [TEXT]]],
    *[(cond(field=v), "conditions[0].field") for v in [*WEIRD, ["message.text"]]],
    *[(cond(op=v), "conditions[0].op") for v in [*WEIRD, ["eq"]]],
    *[(cond(value=v), "conditions[0].value") for v in [[], {}, None, True, [["x"]], 1]],
    (cond(op="in", value=[["x"]]), "conditions[0].value"),
    (cond(op="in", value=[{}]), "conditions[0].value"),
    (cond(op="in", value=[None]), "conditions[0].value"),
    (cond(op="matches", value=["a"]), "conditions[0].value"),
    (cond(field="conversation.priority", op="gt", value="1"), "conditions[0].value"),
    (cond(field="conversation.priority", op="gt", value=True), "conditions[0].value"),
    (cond(field="conversation.tags", op="has", value=["x"]), "conditions[0].value"),
    (cond(field="business_hours", value=[]), "conditions[0].value"),
    (cond(field="business_hours", op=[]), "conditions[0].op"),
    *[({"conditions": [{"any": v}]}, "conditions[0].any") for v in [{}, [], 1, None, "x"]],
    ({"conditions": [{"any": [[]]}]}, "conditions[0].any[0]"),
    ({"conditions": [{"any": [{"any": [TEXT]}]}]}, "conditions[0].any[0]"),
    ({"conditions": [{"any": [{**TEXT, "field": []}]}]}, "conditions[0].any[0].field"),
    ({"conditions": [{"any": [{**TEXT, "op": {}}]}]}, "conditions[0].any[0].op"),
    ({"conditions": [{"any": [TEXT] * 21}]}, "conditions[0].any"),
    *[({"actions": v}, "actions") for v in [{}, 1, "tag", None, True, [], [TAG] * 21]],
    ({"actions": [1] * 21}, "actions"),
    ({"actions": [TAG] * 20 + [1]}, "actions"),
    ({"actions": [None, [], "tag"] * 7}, "actions"),
    ({"actions": [{"type": "webhook", "endpoint": []}] * 21}, "actions"),
    ({"actions": [{"type": "assign", "agent": {}}] * 21}, "actions"),
    *[({"actions": [v]}, "actions[0]") for v in [1, None, True, "tag", [], [TAG]]],
    *[({"actions": [{"type": v, "tags": ["x"]}]}, "actions[0].type") for v in WEIRD],
    ({"actions": [{"tags": ["x"]}]}, "actions[0].type"),
    *[(act(tags=v), "actions[0].tags") for v in [[], "x", [1], [[]], [{}], None, {}]],
    *[
        ({"actions": [{"type": "priority", "value": v}]}, "actions[0].value")
        for v in ["1", 1.5, True, [1], {}, None, 101]
    ],
    *[
        ({"actions": [{"type": "transfer", "queue": v}]}, "actions[0].queue")
        for v in [[], {}, 1, None, True, ""]
    ],
    *[
        ({"actions": [{"type": "post", "text": "hi", "as": v}]}, "actions[0].as")
        for v in [[], {}, 1, None, ["bot"]]
    ],
    *[
        ({"actions": [{"type": "post", "text": v}]}, "actions[0].text")
        for v in [[], {}, 1, None, " "]
    ],
    *[
        ({"actions": [{"type": "webhook", "endpoint": v}]}, "actions[0].endpoint")
        for v in ["1", [], {}, True, None, 1.0, -1, 2**62]
    ],
    *[
        ({"actions": [{"type": "assign", "agent": v}]}, "actions[0].agent")
        for v in [[], {}, 1, None, "nobody"]
    ],
    ({"actions": [{**TAG, "queue": []}]}, "actions[0]"),
    ({"actions": [{"type": "resolve", "x": {}}]}, "actions[0]"),
    *[({"name": v}, "name") for v in WEIRD],
    *[({"enabled": v}, "enabled") for v in [[], {}, None, 1, "true"]],
    *[({"position": v}, "position") for v in [[], {}, None, "1", 1.5]],
    *[({"owner_email": v}, "owner_email") for v in [[], {}, None, 1]],
    *[({limit: v}, limit) for limit in ("rate", "time_budget") for v in [[], {}, 1, True]],
]


def assert_400(response, field: str) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_field", error
    assert isinstance(error["message"], str) and error["message"]
    assert error["field"] == field or error["field"].startswith(f"{field}."), error
    return error


@pytest.mark.parametrize(("change", "field"), BAD)
def test_a_bad_field_on_create_is_a_400_naming_it(site, change, field):
    body = {**REFUND, "site": site.pk, **change}
    response = client_for().post("/api/v1/rules/", body, format="json")
    assert_400(response, field)
    assert not Rule.objects.exists()


@pytest.mark.parametrize(("change", "field"), BAD)
def test_a_bad_field_on_change_is_a_400_naming_it(site, change, field):
    api = client_for(site)
    rule_id = api.post("/api/v1/rules/", REFUND, format="json").json()["id"]
    assert_400(api.patch(f"/api/v1/rules/{rule_id}/", change, format="json"), field)
    rule = Rule.objects.get(pk=rule_id)
    assert (rule.event, rule.actions) == (REFUND["event"], REFUND["actions"])


@pytest.mark.parametrize("site_id", [[], {}, None, True, "1", 1.5, [1]])
def test_a_bad_site_is_a_400_naming_it(site, site_id):
    response = client_for().post("/api/v1/rules/", {**REFUND, "site": site_id}, format="json")
    assert_400(response, "site")


def test_a_key_of_all_sites_is_told_site_is_required(site):
    error = assert_400(client_for().post("/api/v1/rules/", REFUND, format="json"), "site")
    assert error["message"] == "site is required."


def test_every_problem_is_listed_at_once(site):
    body = {
        "name": "",
        "event": "bogus",
        "site": site.pk,
        "conditions": [{"field": "nope", "op": "eq", "value": 1}],
        "actions": [{"type": "bogus"}],
        "position": -1,
        "rate": "often",
    }
    error = assert_400(client_for().post("/api/v1/rules/", body, format="json"), "name")
    for path in ("name", "event", "conditions[0].field", "actions[0].type", "position", "rate"):
        assert f"{path}: " in error["message"], (path, error["message"])


def test_items_of_an_over_long_actions_list_are_not_checked_further(site):
    problems = rule_check(
        site_id=site.pk,
        event="message.created",
        conditions=[],
        actions=[{"type": "webhook", "endpoint": 999999}] * 21,
        limits={},
    )
    assert problems == ["actions: must be a list of 1 to 20 actions."]


def test_the_admin_form_lists_the_same_problems_without_a_500(admin, site):  # noqa: F811
    response = admin.post(
        "/admin/integrations/rule/add/",
        rule_form(
            site,
            conditions=json.dumps([{"field": [], "op": "eq", "value": "x"}, {"any": [{"op": {}}]}]),
            actions=json.dumps([{"type": []}, {"type": "tag", "tags": ["x"], "as": {}}]),
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "conditions[0].field: must be one of" in page
    assert "conditions[1].any[0]: must be" in page
    assert "actions[0].type: must be one of" in page
    assert "actions[1]: unknown fields" in page
    too_long = admin.post(
        "/admin/integrations/rule/add/", rule_form(site, actions=json.dumps([1] * 21))
    )
    assert too_long.status_code == 200
    assert "actions: must be a list of 1 to 20 actions." in too_long.content.decode()
    assert not Rule.objects.exists()
