"""Webhooks and rules in admin: endpoints and rules are saved through the services (which
validate and keep the site's listened events), deliveries are a read-only log with replay."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from chat.admin_json import TEXTS, JSONShapes, StoredJSONField
from chat.events import BROADCAST_EVENTS
from chat.exceptions import ParleyError
from integrations.models import HookEvent, Rule, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.services.delivery import delivery_replay
from integrations.services.endpoints import (
    clean_events,
    clean_limits,
    clean_url,
    endpoint_delete,
    site_hooks_refresh,
)
from integrations.services.outbox import endpoint_ping
from integrations.services.rules import RULE_LIMITS, rule_check, rules_resume


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    # [] is valid (an endpoint only rules' webhook actions send to); the model field's form
    # field would call it "required".
    events = StoredJSONField(
        shape=TEXTS,
        required=False,
        help_text='Event types, e.g. ["message.created"]; [] for rules only.',
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["site", "url", "description", "events", "enabled", "owner_email", "rate",
                  "daily_requests", "daily_bytes", "secret"]  # fmt: skip

    def clean(self):
        data = super().clean()
        for name, check in (("url", clean_url), ("events", clean_events)):
            if name in data:
                try:
                    data[name] = check(data[name])
                except ParleyError as exc:
                    self.add_error(name, str(exc))
        try:
            clean_limits({k: data.get(k, "") for k in ("rate", "daily_requests", "daily_bytes")})
        except ParleyError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    # The id: what a rule's webhook action names.
    list_display = ["id", "url", "site", "enabled", "failing_since", "disabled_reason",
                    "limited_reason"]  # fmt: skip
    list_filter = ["enabled", "site"]
    search_fields = ["url", "description"]
    readonly_fields = ["failing_since", "disabled_reason", "limited_at", "limited_reason"]

    def changelist_view(self, request, extra_context=None):
        # The owner's notice in admin: endpoints turned off for failing (quota notices are
        # under "Quota notices").
        for endpoint in WebhookEndpoint.objects.filter(enabled=False).exclude(disabled_reason=""):
            messages.warning(
                request, f"Webhook {endpoint.url} was disabled: {endpoint.disabled_reason}."
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if "enabled" in form.changed_data and obj.enabled:
            obj.failing_since, obj.disabled_reason = None, ""
        super().save_model(request, obj, form, change)
        site_hooks_refresh(site_id=obj.site_id)
        for site_id in {form.initial.get("site")} - {None, obj.site_id}:
            site_hooks_refresh(site_id=site_id)  # moved to another site

    actions = ["ping"]

    @admin.action(description="Send a test event (webhook.ping)")
    def ping(self, request, queryset):
        for endpoint in queryset:
            try:
                delivery = endpoint_ping(endpoint=endpoint)
            except ParleyError as exc:
                messages.error(request, f"Webhook {endpoint.url}: {exc}")
            else:
                messages.success(
                    request, f"Test event queued to {endpoint.url}: see delivery {delivery.pk}."
                )

    def delete_model(self, request, obj):
        endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            endpoint_delete(endpoint=endpoint)


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "created_at", "response_status", "error", "duration_ms",
              "request_headers", "request_body", "response_body"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "state", "attempts", "last_status",
                    "next_attempt_at", "delivered_at"]  # fmt: skip
    list_filter = ["state", "endpoint"]
    search_fields = ["event__msg_id", "event__type"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request, queryset):
        done = 0
        for delivery in queryset:
            try:
                delivery_replay(delivery=delivery)
                done += 1
            except ParleyError as exc:
                messages.error(request, f"Delivery {delivery.pk}: {exc}")
        if done:
            messages.success(request, f"{done} deliveries queued again.")


@admin.register(HookEvent)
class HookEventAdmin(admin.ModelAdmin):
    list_display = ["msg_id", "type", "site", "conversation", "depth", "created_at"]
    list_filter = ["type", "site"]
    search_fields = ["msg_id"]
    readonly_fields = [f.name for f in HookEvent._meta.fields]

    def has_add_permission(self, request):
        return False


DOCS = "docs/api.md, Automation rules"
CONDITIONS_HELP = (
    'All must hold ([]: always). E.g. [{"field": "message.sender", "op": "eq", "value": '
    '"customer"}, {"field": "message.text", "op": "contains", "value": "refund"}]; an item '
    '{"any": [...]} holds when one of its conditions does. Fields and ops: ' + DOCS + "."
)
ACTIONS_HELP = (
    'Run in order. E.g. [{"type": "tag", "tags": ["refund"]}, {"type": "post", "text": '
    "\"Thanks {{customer.name|default:'there'}}, we are on it.\"}]. Types: tag, untag, "
    "priority, transfer (a queue's name), post (fills {{customer.name}}, "
    "{{customer.email}}, {{agent.name}}, {{conversation.id}}; |default:'…' stands in for "
    'an empty one), webhook ("endpoint": the endpoint\'s id, the ID column of '
    "Integrations > Webhook endpoints), assign (an agent's username), resolve. "
    "See " + DOCS + "."
)


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ["site", "name", "event", "conditions", "actions", "enabled", "position",
                  "owner_email", "rate", "daily_requests", "time_budget"]  # fmt: skip
        widgets = {"event": forms.Select(choices=())}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        events = list(BROADCAST_EVENTS)
        self.fields["event"].widget.choices = [(e, e) for e in events]
        self.fields["conditions"].help_text = CONDITIONS_HELP
        self.fields["actions"].help_text = ACTIONS_HELP

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        site = data.get("site")
        problems = rule_check(
            site_id=site.pk if site is not None else None,
            event=data.get("event"),
            conditions=data.get("conditions"),
            actions=data.get("actions"),
            limits={k: data.get(k, "") for k in RULE_LIMITS},
        )
        for problem in problems:
            self.add_error(None, problem)
        return data


@admin.register(Rule)
class RuleAdmin(JSONShapes, admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "site", "event", "enabled", "position", "runs", "fired",
                    "paused_until", "limited_reason"]  # fmt: skip
    list_filter = ["enabled", "event", "site"]
    search_fields = ["name"]
    readonly_fields = ["runs", "fired", "paused_until", "limited_at", "limited_reason"]
    actions = ["resume"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        site_hooks_refresh(site_id=obj.site_id)
        for site_id in {form.initial.get("site")} - {None, obj.site_id}:
            site_hooks_refresh(site_id=site_id)

    def delete_model(self, request, obj):
        site_id = obj.site_id
        super().delete_model(request, obj)
        site_hooks_refresh(site_id=site_id)

    def delete_queryset(self, request, queryset):
        site_ids = set(queryset.values_list("site_id", flat=True))
        super().delete_queryset(request, queryset)
        for site_id in site_ids:
            site_hooks_refresh(site_id=site_id)

    @admin.action(description="Resume the selected paused rules")
    def resume(self, request, queryset):
        count = rules_resume(rule_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} rules resumed.")
