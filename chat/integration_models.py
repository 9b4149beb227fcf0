"""Models of the integrations surface: API keys with scopes and quotas, the notices that tell
an owner a quota was reached, and the responses kept for Idempotency-Key retries.

Importable from chat.models. Other chat models are named by string, so this module imports
none of them.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

RESOURCES = (
    "conversations",
    "messages",
    "customers",
    "queues",
    "agents",
    "flows",
    "webhooks",
    "reports",
    "rules",
)
# "conversations:read", "conversations:write", ...: write implies nothing about read.
SCOPES = tuple(f"{resource}:{access}" for resource in RESOURCES for access in ("read", "write"))


def all_scopes() -> list[str]:
    return list(SCOPES)


def validate_rate_not_zero(value: str) -> None:
    """chat.quotas reads "0/min" as no limit at all: typed in a key's form, it lifted the
    key's limit while looking like the strictest one."""
    if re.match(r"\s*0+\s*/", value or ""):
        raise ValidationError(
            "A rate of 0 would remove the limit: give at least 1 (e.g. 1/min), or leave it "
            "empty for API_KEY_RATE."
        )


# The daily quotas likewise: 0 would mean none (chat.api.throttles).
AT_LEAST_ONE = [MinValueValidator(1, "At least 1; empty for the server's default.")]


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A key for a backend service. Only its hash is stored; the raw key is shown once."""

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    site = models.ForeignKey(
        "chat.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Limit the key to one site's conversations; empty for all sites.",
    )
    scopes = models.JSONField(
        default=all_scopes,
        blank=True,
        help_text="What the key may do: resource:read / resource:write.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who is told (by email) when the key reaches a quota.",
    )
    is_active = models.BooleanField(default=True, help_text="Untick to revoke the key.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_rate_not_zero],
        help_text="e.g. 600/min (at least 1); empty: API_KEY_RATE.",
    )
    daily_requests = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=AT_LEAST_ONE,
        help_text="Requests per sliding day; empty: API_KEY_DAILY_REQUESTS.",
    )
    daily_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=AT_LEAST_ONE,
        help_text="Bytes in and out per sliding day; empty: API_KEY_DAILY_BYTES.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.is_active and (self.expires_at is None or self.expires_at > now)


class QuotaNotice(models.Model):
    """A quota an owner reached, once per limit and window: the admin's list of them, and
    the unique key that makes the owner's email go out once."""

    kind = models.CharField(max_length=32)  # "api_key", "webhook", "rule"
    owner_id = models.CharField(max_length=64)
    limit = models.CharField(max_length=32)
    window_start = models.DateTimeField()
    message = models.TextField()
    emailed_to = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seen = models.BooleanField(default=False, help_text="Tick once dealt with.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "owner_id", "limit", "window_start"],
                name="quota_notice_once_per_window",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.owner_id}: {self.limit}"


class IdempotencyRecord(models.Model):
    """The response to a POST made with an Idempotency-Key, kept 24 h (IDEMPOTENCY_TTL): a
    retry gets it back; the same key with another request gets 409. ``status`` 0 marks a
    request still running (a concurrent retry gets 409 too)."""

    principal = models.CharField(max_length=64)  # "api_key:7", "customer:3", "user:2"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
