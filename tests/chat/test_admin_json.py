"""Every admin form with a JSONField (chat/admin_json.py): the value is shown pretty-printed
in a monospace box sized to it; bad JSON is the form again with the decoder's line and
column, nothing stored; a value of the wrong shape is refused with what to write; valid
JSON is stored and shown again exactly as typed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from django.utils.html import escape

from bots.demo import demo_flow_install
from integrations.models import Rule, WebhookEndpoint
from routing.models import Queue
from supervision.models import Incident
from tests.chat import admin_page
from tests.factories import make_agent, make_customer, make_site

pytestmark = pytest.mark.django_db

BROKEN = '[\n  "billing",\n  "vip",,\n]'


def pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def decoder_says(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"Line {exc.lineno}, column {exc.colno}: {exc.msg}."
    raise AssertionError("valid JSON")


@dataclass
class Case:
    make: Any  # () -> the object
    admin: str  # app/model in the admin's URLs
    field: str
    new: Any  # a valid value the form stores as it is
    wrong_shape: str
    says: str

    def url(self, obj) -> str:
        return f"/admin/{self.admin}/{obj.pk}/change/"


def _flow_new_draft(flow):
    draft = json.loads(json.dumps(flow.draft))
    draft["nodes"]["greet"]["text"]["en"] = "Bienvenue chez Bricomax — ça roule ?"
    return draft


CASES = {
    "site": Case(
        lambda: make_site(translation_glossary=["Bricomax", "Perceuse à percussion"]),
        "chat/site", "translation_glossary", ["Bricomax", "Visseuse sans fil", "Ökö"],
        '["Bricomax", 3]', "Item 2 is a number; every item must be a text in quotes",
    ),
    "customer": Case(
        lambda: make_customer(attributes={"plan": "entreprise", "ville": "Zürich"}),
        "chat/customer", "attributes", {"city": "Zürich", "plan": "pro"},
        '["vip"]', "Enter an object in braces",
    ),
    "agent": Case(
        lambda: make_agent("json_agent", skills=["billing", "réclamations"]).agent_profile,
        "agents/agentprofile", "skills", ["billing", "réclamations", "vip"],
        '{"billing": true}', "Enter a list of texts in quotes",
    ),
    "queue": Case(
        lambda: Queue.objects.create(name="Ventes", business_hours={"mon": [["09:00", "17:30"]]}),
        "routing/queue", "business_hours",
        {"mon": [["09:00", "12:00"], ["13:00", "17:30"]], "tue": [["09:00", "17:30"]]},
        '[["09:00", "17:30"]]', "Enter an object in braces",
    ),
    "incident": Case(
        lambda: Incident.objects.create(
            title="Traduction lente",
            components=["processing"],
            started_at=timezone.now().replace(microsecond=0),  # the admin's widget has none
        ),
        "supervision/incident", "components", ["chat", "processing"],
        '"chat"', "Enter a list of texts in quotes, such as",
    ),
    "rule": Case(
        lambda: Rule.objects.create(
            site=make_site(), name="refunds", event="message.created",
            conditions=[{"op": "contains", "field": "message.text", "value": "refund"}],
            actions=[{"type": "tag", "tags": ["refund"]}],
        ),
        "integrations/rule", "conditions",
        [{"op": "contains", "field": "message.text", "value": "remboursé"}],
        '{"op": "contains"}', "Enter a list in square brackets",
    ),
    "endpoint": Case(
        lambda: WebhookEndpoint.objects.create(
            site=make_site(), url="https://93.184.216.34/hook", events=["message.created"]
        ),
        "integrations/webhookendpoint", "events", ["conversation.resolved", "message.created"],
        '["message.created", null]', "Item 2 is null",
    ),
    "flow": Case(
        demo_flow_install, "bots/flow", "draft", _flow_new_draft,
        "[]", "Enter an object in braces",
    ),
}  # fmt: skip


def _row(obj) -> dict:
    obj = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    return CASES[request.param]


def test_the_change_page_shows_the_json_pretty_in_a_box_sized_to_it(admin_client, case):
    obj = case.make()
    page = admin_client.get(case.url(obj)).content.decode()
    box = admin_page.textarea(page, f"id_{case.field}")
    stored = getattr(type(obj).objects.get(pk=obj.pk), case.field)
    assert box["text"] == pretty(stored)
    assert "\n  " in box["text"]  # indented, one item a line
    assert "\\u" not in box["text"]  # é, ü and — as themselves
    assert "parley-json" in box["attrs"]["class"].split()
    lines = box["text"].count("\n") + 1
    assert int(box["attrs"]["rows"]) == min(max(lines + 1, 3), 40)
    assert "/static/parley/admin/admin.css" in page  # the monospace style


def test_invalid_json_is_the_form_again_with_the_line_and_column(admin_client, case):
    obj = case.make()
    url = case.url(obj)
    data = admin_page.form_data(admin_client.get(url).content.decode())
    before = _row(obj)
    data[case.field] = [BROKEN]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert escape(f"Enter a valid JSON value. {decoder_says(BROKEN)}") in page
    assert "Line 3, column 9: Expecting value." in page
    # What was typed is given back to correct, not replaced by the stored value.
    assert admin_page.textarea(page, f"id_{case.field}")["text"] == BROKEN
    assert _row(obj) == before


def test_json_of_the_wrong_shape_is_refused_with_what_to_write(admin_client, case):
    obj = case.make()
    url = case.url(obj)
    data = admin_page.form_data(admin_client.get(url).content.decode())
    before = _row(obj)
    data[case.field] = [case.wrong_shape]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors[case.field]
    assert any(case.says in e for e in errors), errors
    assert _row(obj) == before


def test_valid_json_is_stored_and_shown_again_as_typed(admin_client, case):
    obj = case.make()
    url = case.url(obj)
    new = case.new(obj) if callable(case.new) else case.new
    data = admin_page.form_data(admin_client.get(url).content.decode())
    data[case.field] = [pretty(new)]
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert getattr(type(obj).objects.get(pk=obj.pk), case.field) == new
    page = admin_client.get(url).content.decode()
    assert admin_page.textarea(page, f"id_{case.field}")["text"] == pretty(new)


def test_the_form_posted_back_unchanged_keeps_every_value(admin_client, case):
    obj = case.make()
    url = case.url(obj)
    before = _row(obj)
    data = admin_page.form_data(admin_client.get(url).content.decode())
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    after = _row(obj)
    after.pop("updated_at", None), before.pop("updated_at", None)
    assert after == before


def test_every_json_field_of_a_site_is_shown_pretty(admin_client):
    site = make_site(
        allowed_origins=["https://boutique.example"],
        prechat_form={"fields": [{"name": "email", "label": {"fr": "Votre e-mail"}}]},
        translation_glossary=["Bricomax"],
        languages=["fr", "de"],
        attachment_types=["image/png"],
    )
    page = admin_client.get(f"/admin/chat/site/{site.pk}/change/").content.decode()
    for field in ("allowed_origins", "prechat_form", "translation_glossary", "languages",
                  "attachment_types"):  # fmt: skip
        assert admin_page.textarea(page, f"id_{field}")["text"] == pretty(getattr(site, field))


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1e309", "1e309 is too large a number to store."),
        ('["NaN", NaN]', "NaN is not JSON: write null or a number."),
        ("", "Enter JSON: [] for none."),
        ('["bad\\u0000"]', "cannot"),
    ],
)
def test_json_postgresql_cannot_store_is_a_clear_error(admin_client, typed, says):
    site = make_site()
    url = f"/admin/chat/site/{site.pk}/change/"
    data = admin_page.form_data(admin_client.get(url).content.decode())
    data["languages"] = [typed]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["languages"]
    assert any(says in e for e in errors), errors
    site.refresh_from_db()
    assert site.languages == []
