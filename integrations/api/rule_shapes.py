"""Shapes of the automation rules API for the OpenAPI schema; the service checks the values
(integrations.services.rules, the same check as the admin form)."""

from __future__ import annotations

from rest_framework import serializers

from chat.api.shapes import Page
from chat.events import BROADCAST_EVENTS
from integrations import rules as rule_format

EVENT_CHOICES = list(BROADCAST_EVENTS)
RULE_HELP = "See docs/api.md, 'Automation rules', for conditions and actions."


class RuleIn(serializers.Serializer):
    site = serializers.IntegerField(
        min_value=1, help_text="Required on create, for a key of all sites."
    )
    name = serializers.CharField(max_length=120)
    event = serializers.ChoiceField(EVENT_CHOICES)
    conditions = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        max_length=rule_format.MAX_ITEMS,
        help_text='All must hold; {"any": [...]} holds when one does. ' + RULE_HELP,
    )
    actions = serializers.ListField(
        child=serializers.DictField(),
        min_length=1,
        max_length=rule_format.MAX_ITEMS,
        help_text="Run in order. " + RULE_HELP,
    )
    enabled = serializers.BooleanField(required=False)
    position = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, help_text="Rules run in this order."
    )
    owner_email = serializers.EmailField(required=False, allow_blank=True)
    rate = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    daily_requests = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True
    )
    time_budget = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Milliseconds, e.g. 2000/min.",
    )


class RulePatch(RuleIn):
    site = None
    name = serializers.CharField(max_length=120, required=False)
    event = serializers.ChoiceField(EVENT_CHOICES, required=False)
    actions = serializers.ListField(
        child=serializers.DictField(),
        min_length=1,
        max_length=rule_format.MAX_ITEMS,
        required=False,
    )


class RuleOut(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.IntegerField()
    name = serializers.CharField()
    event = serializers.CharField()
    conditions = serializers.ListField(child=serializers.DictField())
    actions = serializers.ListField(child=serializers.DictField())
    enabled = serializers.BooleanField()
    position = serializers.IntegerField()
    paused_until = serializers.DateTimeField(
        allow_null=True, help_text="Set while a quota keeps the rule paused."
    )
    limited_reason = serializers.CharField()
    owner_email = serializers.CharField()
    rate = serializers.CharField()
    daily_requests = serializers.CharField()
    time_budget = serializers.CharField()
    runs = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RuleListOut(Page):
    results = RuleOut(many=True)


class RuleFilter(serializers.Serializer):
    site = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    event = serializers.ChoiceField(EVENT_CHOICES, required=False)
    enabled = serializers.BooleanField(required=False)
    ordering = serializers.ChoiceField(
        ["position", "-id", "id"], required=False, help_text="Default position (run order)."
    )
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False)
    cursor = serializers.CharField(required=False)
