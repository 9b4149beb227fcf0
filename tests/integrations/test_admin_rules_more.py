"""Admin's rule form runs the API's whole check (references too) and lists every problem;
the rules list tells evaluations from fires; the JSON fields explain themselves; the
webhook endpoints list shows the id a rule's webhook action takes."""

from __future__ import annotations

import json

import pytest

from integrations.models import Rule
from integrations.services.endpoints import endpoint_save

from .test_admin import admin, rule_form  # noqa: F401  (the admin fixture)

pytestmark = pytest.mark.django_db


def test_references_are_checked_with_every_other_problem(admin, site):  # noqa: F811
    response = admin.post(
        "/admin/integrations/rule/add/",
        rule_form(
            site,
            conditions=json.dumps([{"field": "message.text", "op": "gt", "value": 1}]),
            actions=json.dumps([
                {"type": "webhook", "endpoint": 999999},
                {"type": "assign", "agent": "nobody-here"},
            ]),
        ),
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert "conditions[0].op: message.text takes" in page
    assert "actions[0].endpoint: no webhook endpoint 999999 on this site" in page
    assert "actions[1].agent: no active agent" in page
    assert not Rule.objects.exists()


def test_the_lists_and_help_texts(admin, site, receiver):  # noqa: F811
    endpoint = endpoint_save(site=site, url=receiver.url, events=[])
    listing = admin.get("/admin/integrations/webhookendpoint/").content.decode()
    assert f'<td class="field-id">{endpoint.pk}</td>' in listing or (
        f">{endpoint.pk}</a></th>" in listing
    )
    page = admin.get("/admin/integrations/rule/add/").content.decode()
    assert '[{"field": "message.sender", "op": "eq"' in page  # the example
    assert "the endpoint's id, the ID column" in page  # the webhook action's note
    assert "|default:'…'" in page  # the template's default
    Rule.objects.create(site=site, name="r", event="message.created", actions=[], runs=30, fired=2)
    listing = admin.get("/admin/integrations/rule/").content.decode()
    assert "Evaluated" in listing and "Fired" in listing
    assert '<td class="field-runs">30</td>' in listing
    assert '<td class="field-fired">2</td>' in listing


def test_a_post_fills_a_default_and_the_rule_counts_fires(site, start, send):
    from django.test import TestCase

    from chat.models import Customer, Message
    from integrations.services.rules import rule_save

    r = rule_save(
        site=site,
        name="thanks",
        event="message.created",
        conditions=[{"field": "message.sender", "op": "eq", "value": "customer"},
                    {"field": "message.text", "op": "contains", "value": "help"}],
        actions=[{"type": "post", "text": "Thanks {{customer.name|default:\"there\"}}, "
                  "{{ customer.email | default:'no email' }} {{agent.name|default:'soon'}}."}],
    )  # fmt: skip
    conversation = start()
    Customer.objects.filter(pk=conversation.customer_id).update(name="", email="")
    with TestCase.captureOnCommitCallbacks(execute=True):
        send(conversation, "hello")
    with TestCase.captureOnCommitCallbacks(execute=True):
        send(conversation, "help please")
    posted = Message.objects.filter(conversation=conversation, kind="bot").values_list(
        "body", flat=True
    )
    assert "Thanks there, no email soon." in list(posted)
    r.refresh_from_db()
    assert (r.runs, r.fired) >= (2, 1) and r.fired < r.runs
