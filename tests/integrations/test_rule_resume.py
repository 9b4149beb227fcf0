"""A rule paused by its quota and then enabled (over the API) or resumed (in admin) is no
longer shown as limited: the pause's reason and time go with it."""

from __future__ import annotations

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from chat import services
from integrations import rules as rule_format
from integrations.models import Rule
from integrations.services.endpoints import site_hooks_refresh

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def paused_rule(site, start, send) -> Rule:
    """A rule over its real rate limit (2 runs a minute, three messages)."""
    actions = [{"type": "tag", "tags": ["seen"]}]
    assert rule_format.validate(event="message.created", conditions=[], actions=actions) == []
    rule = Rule.objects.create(
        site=site, name="greedy", event="message.created", actions=actions, rate="2/min"
    )
    site_hooks_refresh(site_id=site.pk)
    conversation = start()
    for i in range(3):
        with TestCase.captureOnCommitCallbacks(execute=True):
            send(conversation, f"m{i}")
    rule.refresh_from_db()
    assert rule.paused_until and rule.limited_at and rule.limited_reason == "rate limit reached"
    return rule


def test_enabling_over_the_api_clears_the_pause_and_its_reason(site, start, send):
    rule = paused_rule(site, start, send)
    _, raw = services.api_key_create(name="ops", site=site)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = api.get(f"/api/v1/rules/{rule.pk}/").json()
    assert before["limited_reason"] == "rate limit reached"
    enabled = api.post(f"/api/v1/rules/{rule.pk}/enable/")
    assert enabled.status_code == 200, enabled.content
    assert (enabled.json()["paused_until"], enabled.json()["limited_reason"]) == (None, "")
    rule.refresh_from_db()
    assert (rule.enabled, rule.paused_until, rule.limited_at, rule.limited_reason) == (
        True, None, None, ""
    )  # fmt: skip
    assert api.get(f"/api/v1/rules/{rule.pk}/").json() == enabled.json()


def test_resuming_in_admin_clears_the_pause_and_its_reason(site, start, send, admin_client):
    rule = paused_rule(site, start, send)
    admin_client.post(
        "/admin/integrations/rule/", {"action": "resume", "_selected_action": [rule.pk]}
    )
    rule.refresh_from_db()
    assert (rule.paused_until, rule.limited_at, rule.limited_reason) == (None, None, "")
