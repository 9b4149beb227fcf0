"""Shapes of the webhook API for the OpenAPI schema; the services check the values (strict
types: a number where text is expected is a 400, never coerced)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat.api.shapes import Page
from integrations.services.endpoints import SUBSCRIBABLE

EVENT_CHOICES = list(SUBSCRIBABLE)  # not the addressed ones (rule.fired, webhook.ping)
EVENTS_HELP = "Empty: only the deliveries of rules whose webhook action names this endpoint."


# The subscribable types are, today, the same set as the types a rule may listen to (rules'
# "event"); they are two sets that happen to agree, so each keeps its own enum component
# (an id of its own: one set under two names is a schema warning).
@extend_schema_field(
    {"type": "string", "enum": EVENT_CHOICES, "x-spec-enum-id": "webhook-subscribable-events"}
)
class EventName(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(EVENT_CHOICES, **kwargs)


class WebhookIn(serializers.Serializer):
    site = serializers.IntegerField(
        min_value=1, help_text="Required on create, for a key of all sites."
    )
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(child=EventName(), help_text=EVENTS_HELP)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    owner_email = serializers.EmailField(required=False, allow_blank=True)
    rate = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True, help_text="e.g. 600/min"
    )
    daily_requests = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True
    )
    daily_bytes = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True
    )


class WebhookPatch(WebhookIn):
    site = None
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(child=EventName(), required=False, help_text=EVENTS_HELP)


class WebhookOut(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    owner_email = serializers.CharField()
    rate = serializers.CharField()
    daily_requests = serializers.CharField()
    daily_bytes = serializers.CharField()
    secret_prefix = serializers.CharField(
        help_text="The signing secret's first 10 characters, to tell secrets apart."
    )
    created_at = serializers.DateTimeField()


class WebhookCreatedOut(WebhookOut):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The Standard Webhooks signing secret (whsec_…), in the answer that made it "
        "only (null in a replay of it under the same Idempotency-Key).",
    )


class WebhookListOut(Page):
    results = WebhookOut(many=True)


class AttemptOut(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    response_status = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    url = serializers.CharField(help_text="Where it was sent (the endpoint's URL then).")
    request_headers = serializers.DictField(
        child=serializers.CharField(), help_text="As sent, without webhook-signature."
    )
    request_body = serializers.CharField()
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField()


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField(help_text="The webhook-id header.")
    event_type = serializers.CharField()
    conversation = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(["pending", "sending", "delivered", "failed"])
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    replay_of = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    log = AttemptOut(many=True, required=False, help_text="Only on a single delivery.")


class DeliveryListOut(Page):
    results = DeliveryOut(many=True)


class EventTypeOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())
    subscribable = serializers.BooleanField(
        help_text="Whether an endpoint may list it in events (rule.fired: no, a rule's "
        "webhook action names its endpoint; webhook.ping: no, it is sent when asked)."
    )
