"""Webhook endpoints: validation, saving, and the site's list of listened events."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from chat.events import BROADCAST_EVENTS, HOOK_RULE_FIRED, HOOK_WEBHOOK_PING
from chat.exceptions import ValidationError
from chat.models import Site
from integrations import conf
from integrations.models import Rule, WebhookEndpoint, webhook_secret
from integrations.services import metering

LIMIT_FIELDS = ("rate", "daily_requests", "daily_bytes")


# What an endpoint may subscribe to. rule.fired is addressed, not broadcast: a rule's webhook
# action names its endpoint, as a Zendesk trigger names its target. Subscribing to it used
# to be accepted and then delivered nothing; sending it to every subscriber instead would
# hand one rule's notice (meant for, say, a Slack relay) to every other receiver of the site.
SUBSCRIBABLE = BROADCAST_EVENTS
RULE_FIRED_REFUSED = (
    "rule.fired cannot be subscribed to: it is sent to the endpoint a rule's webhook action "
    "names, whatever that endpoint subscribes to. Name this endpoint in the rule's webhook "
    'action; an endpoint that only receives rules\' deliveries subscribes to "events": [].'
)
PING_REFUSED = (
    "webhook.ping cannot be subscribed to: every endpoint gets it when asked, "
    "POST /api/v1/webhooks/{id}/ping/."
)


def clean_events(value: Any, *, field: str = "events") -> list[str]:
    """The subscribed event types; an empty list is an endpoint only rules send to."""
    if not isinstance(value, list):
        raise ValidationError("events must be a list of event types.", field=field)
    if HOOK_RULE_FIRED.name in value:
        raise ValidationError(RULE_FIRED_REFUSED, field=field)
    if HOOK_WEBHOOK_PING.name in value:
        raise ValidationError(PING_REFUSED, field=field)
    unknown = [v for v in value if not isinstance(v, str) or v not in SUBSCRIBABLE]
    if unknown:
        raise ValidationError(
            f"unknown event types {unknown!r}; known: {', '.join(SUBSCRIBABLE)}.", field=field
        )
    return sorted(set(value))


def clean_url(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationError("url must be an http(s) URL of at most 500 characters.", field="url")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url must be an http(s) URL.", field="url")
    if not conf.get("WEBHOOK_ALLOW_PRIVATE") and private_address(parts.hostname):
        raise ValidationError(
            "url points at a private or loopback address (WEBHOOK_ALLOW_PRIVATE is off).",
            field="url",
        )
    return value


def private_address(host: str) -> bool:
    """Whether the host is (or resolves to) an address inside the network: a webhook must
    not be a way to reach the server's neighbours."""
    # A fully qualified name's trailing dot ("localhost.") names the same host, and every
    # name under localhost is loopback (RFC 6761), resolvable here or not.
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable now: the delivery fails and retries, nothing leaks
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return True
    return False


def clean_limits(values: dict[str, Any]) -> dict[str, str]:
    cleaned = {}
    for name in (*LIMIT_FIELDS, "time_budget"):
        if name in values:
            value = values[name]
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise ValidationError(f"{name} must be a rate such as 600/min.", field=name)
            try:
                metering.parse(name, value)
            except ValueError as exc:
                raise ValidationError(str(exc), field=name) from exc
            cleaned[name] = value
    return cleaned


def site_hooks_refresh(*, site_id: int) -> dict[str, Any]:
    """Recompute which events the site's enabled webhooks and rules listen to (called in
    the transaction of every change to them, and by the sweeper to repair drift)."""
    endpoints: dict[str, list[int]] = {}
    for pk, events in (
        WebhookEndpoint.objects.filter(site_id=site_id, enabled=True)
        .order_by("id")
        .values_list("id", "events")
    ):
        for event in events or ():
            endpoints.setdefault(event, []).append(pk)
    rules = set(Rule.objects.filter(site_id=site_id, enabled=True).values_list("event", flat=True))
    # "endpoints": which endpoints get each event, so that the outbox needs no query.
    hooks = {"webhooks": sorted(endpoints), "rules": sorted(rules), "endpoints": endpoints}
    Site.objects.filter(pk=site_id).update(hook_events=hooks)
    return hooks


@transaction.atomic
def endpoint_save(
    *, endpoint: WebhookEndpoint | None = None, site: Site | None = None, **values: Any
) -> WebhookEndpoint:
    """Create (with ``site``) or update an endpoint from cleaned or raw values."""
    unknown = set(values) - {"url", "description", "events", "enabled", "owner_email",
                             *LIMIT_FIELDS}  # fmt: skip
    if unknown:
        raise ValidationError(f"unknown fields {sorted(unknown)}.", field=sorted(unknown)[0])
    if endpoint is None:
        if "url" not in values or "events" not in values:
            raise ValidationError("url and events are required.", field="url")
        endpoint = WebhookEndpoint(site=site)
    if "url" in values:
        endpoint.url = clean_url(values["url"])
    if "events" in values:
        endpoint.events = clean_events(values["events"])
    if "description" in values:
        description = values["description"]
        if not isinstance(description, str) or len(description) > 200:
            raise ValidationError(
                "description: text of at most 200 characters.", field="description"
            )
        endpoint.description = description
    if "owner_email" in values:
        email = values["owner_email"]
        if not isinstance(email, str) or (email and "@" not in email) or len(email) > 254:
            raise ValidationError("owner_email must be an email address.", field="owner_email")
        endpoint.owner_email = email
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            raise ValidationError("enabled must be true or false.", field="enabled")
        if values["enabled"] and not endpoint.enabled:
            endpoint.failing_since = None  # turned back on: a fresh start
            endpoint.disabled_reason = ""
        endpoint.enabled = values["enabled"]
    for name, value in clean_limits(values).items():
        setattr(endpoint, name, value)
    endpoint.save()
    site_hooks_refresh(site_id=endpoint.site_id)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    site_id = endpoint.site_id
    endpoint.delete()
    site_hooks_refresh(site_id=site_id)


def endpoint_secret_rotate(
    *, endpoint: WebhookEndpoint, now: dt.datetime | None = None
) -> WebhookEndpoint:
    """A new signing secret, at once: every delivery sent after this commit is signed with
    it and, for WEBHOOK_SECRET_OVERLAP_SECONDS, with the old one too, so a receiver still
    holding the old secret keeps verifying while it switches (0: the old one stops at once,
    for a leaked secret). The secret is shown in this answer and at creation only."""
    now = now or timezone.now()
    overlap = conf.get("WEBHOOK_SECRET_OVERLAP_SECONDS")
    endpoint.previous_secret = endpoint.secret if overlap > 0 else ""
    endpoint.previous_secret_expires_at = (
        now + dt.timedelta(seconds=overlap) if overlap > 0 else None
    )
    endpoint.secret = webhook_secret()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return endpoint
