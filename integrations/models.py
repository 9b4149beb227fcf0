"""Webhooks (endpoints, the outbox's events, deliveries and their attempts) and automation
rules. No side effects in save(): the services in ``integrations.services`` write these."""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.db.models import Q


def webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Limits(models.Model):
    """Quotas of an automated process (seed 004), as rates such as ``600/min``; empty or
    ``0/...`` means no limit. Checked by ``integrations.metering`` against Redis."""

    rate = models.CharField(
        max_length=32, default="600/min", blank=True, help_text="Requests (or runs) per window."
    )
    daily_requests = models.CharField(max_length=32, default="100000/day", blank=True)
    daily_bytes = models.CharField(
        max_length=32, default="100000000/day", blank=True, help_text="Bytes sent per day."
    )
    owner_email = models.EmailField(blank=True, help_text="Told once when a limit is hit.")
    # Set when the owner was told of the current episode; cleared when it passes.
    limited_at = models.DateTimeField(null=True, blank=True, editable=False)
    limited_reason = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        abstract = True


class WebhookEndpoint(Limits):
    site = models.ForeignKey("chat.Site", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text='Event types, e.g. ["message.created"].')
    secret = models.CharField(max_length=100, default=webhook_secret)
    # The secret a rotation replaced, still signing beside the new one until it expires, so
    # that receivers can switch without refusing a delivery (Standard Webhooks: one header,
    # several signatures).
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The first failure since the last success: past WEBHOOK_DISABLE_AFTER_DAYS it is off.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.site})"


class HookEvent(models.Model):
    """One integration event, written in the transaction of the change (the outbox)."""

    site = models.ForeignKey("chat.Site", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(max_length=48)
    msg_id = models.CharField(max_length=40, unique=True, help_text="The webhook-id header.")
    body = models.JSONField()
    # How many rules' actions led here (0: a person or the system did it).
    depth = models.PositiveSmallIntegerField(default=0)
    rule = models.ForeignKey(
        "integrations.Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rules_pending = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(rules_pending=True), name="hook_rules_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.msg_id}"


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed"  # gave up after the retry schedule (about 24 h)

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(HookEvent, on_delete=models.CASCADE, related_name="deliveries")
    # Deliveries of one lane go out one at a time in id order: the conversation's id (events
    # of a conversation are written under its row lock, so id order is commit order).
    lane = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["endpoint", "lane", "id"],
                condition=Q(state__in=["pending", "sending"]),
                name="webhook_lane_open",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One request and its response (bodies cut at WEBHOOK_LOG_MAX_BYTES)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=500)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.response_status or self.error}"


class Rule(Limits):
    """When ``event`` happens on the site and every condition holds, run the actions."""

    site = models.ForeignKey("chat.Site", on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=120)
    event = models.CharField(max_length=48)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0, help_text="Rules run in this order.")
    time_budget = models.CharField(
        max_length=32, default="2000/min", blank=True, help_text="Milliseconds of run time."
    )
    paused_until = models.DateTimeField(null=True, blank=True)
    # Evaluated: the rule was admitted by its quotas and its conditions read (matched or
    # not); fired: they held and the actions ran.
    runs = models.PositiveBigIntegerField("evaluated", default=0, editable=False)
    fired = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "position", "id"]

    def __str__(self) -> str:
        return self.name
