"""Sending webhooks: one lane (an endpoint and a conversation) at a time, in order, signed
per Standard Webhooks, every request and response logged, retried with backoff for about a
day, and an endpoint that keeps failing for WEBHOOK_DISABLE_AFTER_DAYS turned off.

A delivery is claimed by a conditional update (pending → sending, with a lease), so two
workers on one lane never both send; the HTTP request runs outside any transaction; a
worker that dies mid-request leaves a lease that expires and the sweeper takes it again
(the receiver may then see the event twice, with the same webhook-id: at least once)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from standardwebhooks import Webhook

from chat import metrics
from chat.exceptions import Conflict
from integrations import conf, connections
from integrations.models import HookEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.services import metering
from integrations.services.endpoints import private_address, site_hooks_refresh
from integrations.services.outbox import deliveries_create

logger = logging.getLogger(__name__)
State = WebhookDelivery.State
OPEN = (State.PENDING, State.SENDING)
USER_AGENT = "Parley-Webhooks/1.0"


@dataclass
class Response:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _cut(text: str) -> str:
    limit = conf.get("WEBHOOK_LOG_MAX_BYTES")
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit].decode(errors="ignore") + "…"


_POOL_PREFIX = re.compile(r"^(?:<[\w.]+ object at 0x[0-9a-f]+>|[\w.]+\([^)]*\)): ")


def sign(
    *, secret: str, msg_id: str, timestamp: dt.datetime, body: str, also: str = ""
) -> dict[str, str]:
    """The Standard Webhooks headers for one request; ``also``: a second secret (the one a
    rotation replaced), whose signature goes beside the first (space-separated, as the
    standard allows: a receiver accepts the request when any one verifies)."""
    signatures = [Webhook(s).sign(msg_id, timestamp, body) for s in (secret, also) if s]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _previous_secret(endpoint: WebhookEndpoint, now: dt.datetime) -> str:
    expires = endpoint.previous_secret_expires_at
    return endpoint.previous_secret if expires is not None and now < expires else ""


def http_post(url: str, body: str, headers: dict[str, str]) -> Response:
    host = urlsplit(url).hostname or ""
    if not conf.get("WEBHOOK_ALLOW_PRIVATE") and private_address(host):
        # Checked again at each send: the name may resolve elsewhere since it was saved.
        return Response(error=f"refused: {host} resolves to a private or loopback address")
    limit = conf.get("WEBHOOK_LOG_MAX_BYTES")
    seconds = conf.get("WEBHOOK_TIMEOUT")
    started = time.monotonic()
    try:
        out = _post(url, body.encode(), headers, limit, seconds)
    except urllib3.exceptions.ProtocolError:
        # A kept-alive connection the receiver closed just as it was reused (before any
        # answer): once more on a fresh one. Receivers deduplicate on webhook-id anyway.
        try:
            out = _post(url, body.encode(), headers, limit, seconds)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            out = _failure(exc, seconds)
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:  # refused, timed out
        out = _failure(exc, seconds)
    out.duration_ms = int((time.monotonic() - started) * 1000)
    out.body = _cut(out.body)
    return out


def _post(url: str, body: bytes, headers: dict[str, str], limit: int, seconds: float) -> Response:
    resp = connections.pool().request(
        "POST",
        url,
        body=body,
        headers=headers,
        timeout=urllib3.Timeout(connect=seconds, read=seconds),
        retries=False,  # a 3xx is an answer, not a detour; retries are the lane's
        redirect=False,
        preload_content=False,
    )
    try:
        data = resp.read(limit + 1)
        if len(data) <= limit:
            resp.release_conn()  # read to the end: the connection goes back to the pool
        else:
            # Not reading a large answer to its end: the connection is not reused.
            resp.close()
            resp.release_conn()
    except BaseException:
        resp.close()
        resp.release_conn()
        raise
    return Response(resp.status, dict(resp.headers), data.decode(errors="replace"))


def _failure(exc: BaseException, seconds: float) -> Response:
    reason = getattr(exc, "reason", None) or exc
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError
    # for old callers' sake: a refusal is not a timeout.
    timed_out = not isinstance(exc, urllib3.exceptions.NewConnectionError) and (
        isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError))
        or "timed out" in str(reason)
    )
    if timed_out:
        return Response(error=f"timeout: no answer within {seconds:g} s")
    # urllib3 prefixes its messages with the connection object's repr
    # ("HTTPConnection(host='…', port=…): Failed to establish…"): the receiver's owner
    # wants the cause ("connection refused"), not our client's internals.
    text = _POOL_PREFIX.sub("", str(reason))
    return Response(error=f"error: {text}"[:300])


def _claim(endpoint_id: int, lane: int, now: dt.datetime) -> WebhookDelivery | None:
    """The lane's first open delivery, claimed for sending if it is due and free."""
    head = (
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, lane=lane, state__in=OPEN)
        .select_related("endpoint", "event")
        .order_by("id")
        .first()
    )
    if head is None or not head.endpoint.enabled or head.next_attempt_at > now:
        return None
    if head.state == State.SENDING and head.lease_until and head.lease_until > now:
        return None  # another worker is sending it
    lease = now + dt.timedelta(seconds=conf.get("WEBHOOK_TIMEOUT") + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=head.pk, state=head.state, attempts=head.attempts
    ).update(state=State.SENDING, lease_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        return None
    head.state, head.lease_until, head.attempts = State.SENDING, lease, head.attempts + 1
    return head


def lane_run(*, endpoint_id: int, lane: int, max_sends: int = 100) -> int:
    """Send the lane's due deliveries in order; stop at the first that fails (the later
    ones wait for it). Returns how many were delivered."""
    delivered = 0
    for _ in range(max_sends):
        now = timezone.now()
        delivery = _claim(endpoint_id, lane, now)
        if delivery is None:
            break
        body = json.dumps(delivery.event.body, separators=(",", ":"), ensure_ascii=False)
        verdict = metering.endpoint_charge(delivery.endpoint, size=len(body.encode()))
        if not verdict.allowed:
            _defer(delivery, verdict)
            break
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **sign(
                secret=delivery.endpoint.secret,
                msg_id=delivery.event.msg_id,
                timestamp=now,
                body=body,
                also=_previous_secret(delivery.endpoint, now),
            ),
        }
        response = http_post(delivery.endpoint.url, body, headers)
        _record(delivery, headers=headers, body=body, response=response)
        if not response.ok:
            break
        delivered += 1
    return delivered


def _defer(delivery: WebhookDelivery, verdict: metering.Verdict) -> None:
    """Over a quota: the delivery waits, and the attempt does not count."""
    wait = dt.timedelta(seconds=max(1.0, verdict.retry_after))
    WebhookDelivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(
        state=State.PENDING,
        attempts=F("attempts") - 1,
        lease_until=None,
        next_attempt_at=timezone.now() + wait,
        last_error=f"deferred: {verdict.limit} limit reached"[:300],
    )


def _record(delivery: WebhookDelivery, *, headers: dict, body: str, response: Response) -> None:
    """The attempt's log, then the delivery's outcome: two statements, no transaction
    (a crash in between leaves the delivery ``sending``; its lease runs out and it is sent
    again, which at-least-once allows)."""
    now = timezone.now()
    endpoint = delivery.endpoint
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        url=endpoint.url,
        request_headers={k: v for k, v in headers.items() if k != "webhook-signature"},
        request_body=_cut(body),
        response_status=response.status,
        response_headers=response.headers,
        response_body=response.body,
        error=response.error,
        duration_ms=response.duration_ms,
    )
    fields = {
        "lease_until": None,
        "last_status": response.status,
        "last_error": response.error or ("" if response.ok else f"HTTP {response.status}"),
    }
    if response.ok:
        fields.update(state=State.DELIVERED, delivered_at=now)
        outcome = "delivered"
    elif delivery.attempts > len(conf.RETRY_SCHEDULE):
        fields.update(state=State.FAILED)  # gave up: the lane moves on
        outcome = "failed"
    else:
        wait = conf.RETRY_SCHEDULE[delivery.attempts - 1]
        fields.update(state=State.PENDING, next_attempt_at=now + dt.timedelta(seconds=wait))
        outcome = "retry"
    if WebhookDelivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(**fields):
        metrics.webhook_delivery(outcome)  # counted once: a lost lease's late answer is not
    # The endpoint row as the claim read it: written only when its failing state changes
    # (a conditional update, so a concurrent lane's write is not undone).
    if response.ok:
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        return
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
    _disable_if_failing(endpoint.pk, now)


@transaction.atomic
def _disable_if_failing(endpoint_id: int, now: dt.datetime) -> None:
    since = now - dt.timedelta(days=conf.get("WEBHOOK_DISABLE_AFTER_DAYS"))
    reason = f"failing since before {since:%Y-%m-%d %H:%M} UTC"
    turned_off = WebhookEndpoint.objects.filter(
        pk=endpoint_id, enabled=True, failing_since__lte=since
    ).update(enabled=False, disabled_reason=reason[:200])
    if not turned_off:
        return
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    site_hooks_refresh(site_id=endpoint.site_id)
    logger.warning("webhook endpoint %s disabled: %s", endpoint.url, reason)
    if endpoint.owner_email:
        subject = f"[Parley] webhook endpoint disabled: {endpoint.url}"
        text = (
            f"The webhook endpoint {endpoint.url} has failed every delivery since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC and was disabled. Its undelivered "
            "events are kept: fix the endpoint, enable it again in admin or through the API, "
            "and they are sent."
        )
        transaction.on_commit(lambda: _mail(subject, text, [endpoint.owner_email]), robust=True)


def _mail(subject: str, text: str, to: list[str]) -> None:
    try:
        send_mail(subject, text, None, to)
    except Exception:  # the admin shows the endpoint disabled; mail servers fail
        logger.exception("could not email %s", to)


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an event again (a new delivery at the end of its lane, the same webhook-id, so
    a receiver that kept it can tell)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it first.", code="endpoint_disabled")
    event = HookEvent.objects.get(pk=delivery.event_id)
    deliveries_create(event=event, endpoint_ids=[endpoint.pk], replay_of=delivery)
    return WebhookDelivery.objects.filter(replay_of=delivery).order_by("-id").first()


def due_lanes(*, now: dt.datetime | None = None, limit: int = 500) -> list[tuple[int, int]]:
    """Lanes with a delivery due now (or a lease that ran out): the sweeper's work."""
    now = now or timezone.now()
    # Only a lane's first open delivery can go: a lane waiting on a retry hours away is
    # not queued every sweep because later events of it are due.
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        lane=OuterRef("lane"),
        state__in=OPEN,
        id__lt=OuterRef("id"),
    )
    rows = (
        WebhookDelivery.objects.filter(
            state__in=OPEN, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .filter(Q(state=State.PENDING) | Q(lease_until__lt=now))
        .filter(~Exists(earlier))
        .values_list("endpoint_id", "lane")
        .order_by()
        .distinct()[:limit]
    )
    return list(rows)


def prune(*, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Forget events older than WEBHOOK_RETENTION_DAYS whose deliveries are all over (and
    their logs), a batch at a time."""
    now = now or timezone.now()
    before = now - dt.timedelta(days=conf.get("WEBHOOK_RETENTION_DAYS"))
    open_delivery = WebhookDelivery.objects.filter(event_id=OuterRef("pk"), state__in=OPEN)
    ids = list(
        HookEvent.objects.filter(created_at__lt=before, rules_pending=False)
        .filter(~Exists(open_delivery))
        .values_list("id", flat=True)[:limit]
    )
    HookEvent.objects.filter(pk__in=ids).delete()
    return len(ids)
