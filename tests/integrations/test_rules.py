"""Automation rules through the real flows: conditions, each action, the timeline, the
depth limit, validation, and throttling (a costly rule pauses, the others keep firing)."""

from __future__ import annotations

import pytest
from django.test import TestCase

from chat.models import Conversation, ConversationEvent, Message, QuotaNotice, Site
from integrations import rules as rule_format
from integrations.models import HookEvent, Rule, WebhookDelivery
from integrations.services import metering
from integrations.services.endpoints import site_hooks_refresh
from routing.models import Queue
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def after_commit():
    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def rule(site):
    def _make(event="message.created", conditions=(), actions=(), **kw):
        problems = rule_format.validate(
            event=event, conditions=list(conditions), actions=list(actions)
        )
        assert problems == []
        # The time budget counts wall time: a loaded host (CI's parallel tiers) can spend
        # the default 2000 ms a minute in a test's few runs. Only its own test sets one.
        kw.setdefault("time_budget", "")
        made = Rule.objects.create(
            site=site,
            name=kw.pop("name", f"rule {Rule.objects.count() + 1}"),
            event=event,
            conditions=list(conditions),
            actions=list(actions),
            **kw,
        )
        site_hooks_refresh(site_id=site.pk)
        return made

    return _make


def runs(conversation, type_="rule.run"):
    return list(
        ConversationEvent.objects.filter(conversation=conversation, type=type_).order_by("id")
    )


def test_a_matching_rule_runs_its_actions_and_is_on_the_timeline(rule, start, send):
    r = rule(
        conditions=[{"field": "message.text", "op": "contains", "value": "REFUND"}],
        actions=[{"type": "tag", "tags": ["refund"]}, {"type": "priority", "value": 5}],
    )
    conversation = start()
    with after_commit():
        send(conversation, "hello")
    assert runs(conversation) == []  # no match, nothing recorded, nothing changed
    with after_commit():
        send(conversation, "I want a refund please")
    conversation.refresh_from_db()
    assert conversation.tags == ["refund"] and conversation.priority == 5
    [run] = runs(conversation)
    assert run.data["rule"] == r.pk and run.actor == f"rule:{r.pk}"
    assert [a["type"] for a in run.data["actions"]] == ["tag", "priority"]
    assert all(a["ok"] for a in run.data["actions"])
    assert Rule.objects.get(pk=r.pk).runs == 2  # both evaluations count
    assert conversation.queue_entries.get(closed_at__isnull=True).priority == 5


def test_rules_run_after_commit_not_in_the_sender_s_transaction(rule, start, send):
    rule(actions=[{"type": "tag", "tags": ["seen"]}])
    conversation = start()
    send(conversation, "no commit yet")  # the test's transaction never commits
    conversation.refresh_from_db()
    assert conversation.tags == []
    assert HookEvent.objects.get(type="message.created").rules_pending


def test_any_of_and_language_and_tag_conditions(rule, start, send, customer):
    rule(
        conditions=[
            {"any": [
                {"field": "message.text", "op": "matches", "value": r"\border \d+"},
                {"field": "customer.tags", "op": "has", "value": "vip"},
            ]},
            {"field": "conversation.language", "op": "in", "value": ["fr", "en"]},
            {"field": "conversation.tags", "op": "has_none", "value": ["spam"]},
            {"field": "business_hours", "op": "eq", "value": True},
        ],
        actions=[{"type": "tag", "tags": ["matched"]}],
    )  # fmt: skip
    customer.locale = "fr-CA"
    customer.save()
    conversation = start()
    with after_commit():
        send(conversation, "hi")
    conversation.refresh_from_db()
    assert conversation.tags == []
    with after_commit():
        send(conversation, "about order 1234")
    conversation.refresh_from_db()
    assert conversation.tags == ["matched"]


def test_the_business_hours_condition_reads_the_queue(rule, start, send, site):
    queue = Queue.objects.create(name="Closed desk", business_hours={"mon": []}, timezone="UTC")
    Site.objects.filter(pk=site.pk).update(default_queue=queue)
    rule(
        conditions=[
            {"field": "business_hours", "op": "eq", "value": False},
            {"field": "message.sender", "op": "eq", "value": "customer"},
        ],
        actions=[{"type": "post", "text": "We are closed, {{customer.name}}."}],
    )
    conversation = start()
    assert conversation.queue == queue
    with after_commit():
        send(conversation, "anyone?")
    bot = Message.objects.filter(conversation=conversation, kind="bot").get()
    assert bot.body == "We are closed, Zoé."


def test_a_chain_of_rules_stops_at_the_depth_limit(rule, start, send, settings):
    rule(actions=[{"type": "post", "text": "echo"}])
    conversation = start()
    with after_commit():
        send(conversation, "go")
    depth = settings.PARLEY_INTEGRATIONS["RULES_MAX_DEPTH"]
    assert Message.objects.filter(conversation=conversation, kind="bot").count() == depth
    [limit] = runs(conversation, "rule.depth_limit")
    assert limit.data["depth"] == depth
    assert len(runs(conversation)) == depth


def test_transfer_assign_and_resolve_actions(rule, start, send, site):
    billing = Queue.objects.create(name="Billing")
    agent = make_agent("rita")
    rule(
        conditions=[{"field": "message.text", "op": "contains", "value": "invoice"}],
        actions=[
            {"type": "transfer", "queue": "Billing"},
            {"type": "assign", "agent": "rita"},
        ],
    )
    rule(
        conditions=[{"field": "message.text", "op": "eq", "value": "bye"}],
        actions=[{"type": "resolve"}],
    )
    conversation = start()
    with after_commit():
        send(conversation, "my invoice is wrong")
    conversation.refresh_from_db()
    assert conversation.queue == billing
    assert conversation.status == Conversation.Status.ASSIGNED
    assert conversation.assignee == agent
    assert runs(conversation, "routing.transfer")[0].data["to_queue"] == billing.pk
    with after_commit():
        send(conversation, "bye")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED
    assert agent.presence.load == 0  # the slot came back


def test_a_failing_action_is_recorded_and_the_next_still_runs(rule, start, send):
    rule(actions=[{"type": "assign", "agent": "nobody"}, {"type": "tag", "tags": ["after"]}])
    conversation = start()
    with after_commit():
        send(conversation)
    conversation.refresh_from_db()
    assert conversation.tags == ["after"]
    first, second = runs(conversation)[0].data["actions"]
    assert not first["ok"] and "nobody" in first["error"] and second["ok"]


def test_the_webhook_action_sends_rule_fired_to_its_endpoint(rule, start, send, endpoint, receiver):
    hook = endpoint(events=["conversation.resolved"])
    r = rule(actions=[{"type": "webhook", "endpoint": hook.pk}])
    conversation = start()
    with after_commit():
        send(conversation, "ping")
    d = WebhookDelivery.objects.get()
    assert d.event.type == "rule.fired" and d.event.rule_id == r.pk
    from integrations.services.delivery import lane_run

    assert lane_run(endpoint_id=hook.pk, lane=conversation.pk) == 1
    body = receiver.bodies()[0]
    assert body["data"]["rule"] == {"id": r.pk, "name": r.name}


def test_validation_names_every_problem_with_its_path():
    problems = rule_format.validate(
        event="message.sent",
        conditions=[
            {"field": "message.txt", "op": "contains", "value": "x"},
            {"field": "message.text", "op": "gt", "value": 3},
            {"field": "message.text", "op": "matches", "value": "(unclosed"},
            {"any": []},
        ],
        actions=[{"type": "explode"}, {"type": "priority", "value": 1000}, {"type": "tag"}],
    )
    text = "\n".join(problems)
    for expected in (
        "event: must be one of",
        "conditions[0].field",
        "conditions[1].op",
        "conditions[2].value: not a regular expression",
        "conditions[3].any",
        "actions[0].type",
        "actions[1].value",
        "actions[2]: tag needs tags",
    ):
        assert expected in text
    assert rule_format.validate(event="message.created", conditions=[], actions=[]) == [
        "actions: must be a list of 1 to 20 actions."
    ]
    assert (
        "actions[0].queue: no active queue"
        in rule_format.validate(
            event="message.created", conditions=[], actions=[{"type": "transfer", "queue": "Nope"}]
        )[0]
    )


@pytest.mark.redis
def test_a_rule_over_its_rate_is_paused_and_the_others_keep_firing(rule, start, send, site):
    greedy = rule(name="greedy", rate="2/min", owner_email="owner@example.com",
                  actions=[{"type": "tag", "tags": ["greedy"]}])  # fmt: skip
    modest = rule(name="modest", actions=[{"type": "tag", "tags": ["modest"]}])
    conversation = start()
    for i in range(4):
        with after_commit():
            send(conversation, f"m{i}")
    greedy.refresh_from_db()
    modest.refresh_from_db()
    assert greedy.paused_until is not None and greedy.limited_reason == "rate limit reached"
    assert greedy.runs == 2 and modest.runs == 4
    [throttled] = runs(conversation, "rule.throttled")
    assert throttled.data["rule"] == greedy.pk and throttled.data["limit"] == "rate"
    [notice] = QuotaNotice.objects.filter(kind="rule", owner_id=str(greedy.pk))
    assert notice.limit == "rate"
    assert Rule.objects.get(pk=greedy.pk).runs == 2


@pytest.mark.redis
def test_a_rule_that_spends_its_time_budget_is_paused(rule, start, send):
    costly = rule(name="costly", time_budget="100/min", actions=[{"type": "tag", "tags": ["x"]}])
    other = rule(name="other", actions=[{"type": "tag", "tags": ["y"]}])
    assert metering.rule_spent(costly, ms=150).allowed is False  # a run that took 150 ms
    conversation = start()
    with after_commit():
        send(conversation, "hi")
    conversation.refresh_from_db()
    assert conversation.tags == ["y"]
    costly.refresh_from_db()
    assert costly.limited_reason == "time_budget limit reached" and costly.paused_until
    assert Rule.objects.get(pk=other.pk).runs == 1
