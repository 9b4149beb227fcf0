"""Rate limits and daily quotas for authenticated REST callers (chat/quotas.py).

- API keys: a rate, and daily quotas of requests and of bytes (request and response
  bodies), each the key's own or the API_KEY_* default. The key's owner is told once per
  limit and window (an email and a notice in admin).
- Visitor tokens: the socket's send rate (API_VISITOR_RATE, per customer), so REST is no
  way around it.
- Agents (session): API_AGENT_RATE per user.

Over a limit: 429 with Retry-After. The anonymous throttle (DRF's, by client address) stays
for calls without credentials.

While Redis (the quota store) is unreachable, calls pass uncounted: an API key's for
QUOTA_FAIL_OPEN_SECONDS of the outage, then 503 quota_unavailable until Redis answers; a
visitor's or an agent's however long it lasts (chat needs only the database, and they are
bounded per socket and per token elsewhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.throttling import BaseThrottle

from chat import quotas
from chat.actors import Actor
from chat.api.errors import throttled_message
from chat.quotas import Limit
from chat.services.quota_notices import owner_notify_once

# A rate limit's window is short; its owner hears of it at most once an hour.
RATE_NOTICE_WINDOW = 3600.0


@dataclass(frozen=True)
class Meter:
    kind: str
    owner: object
    limits: tuple[Limit, ...]
    recipients: tuple[str, ...] = ()
    # Refused (503) once the quota store has been unreachable past QUOTA_FAIL_OPEN_SECONDS;
    # otherwise let through uncounted for the whole outage.
    bounded: bool = False

    @property
    def volume(self) -> Limit | None:
        return next((x for x in self.limits if x.measure == "bytes"), None)


def _default(name: str) -> str:
    return settings.PARLEY[name]


def meter_for(request) -> Meter | None:
    actor = request.auth if isinstance(request.auth, Actor) else None
    if actor is not None and actor.kind == "service":
        key = actor.api_key
        limits = (
            Limit.parse("rate", key.rate_limit or _default("API_KEY_RATE")),
            Limit.parse(
                "daily_requests", f"{_daily(key.daily_requests, 'API_KEY_DAILY_REQUESTS')}/day"
            ),
            Limit.parse(
                "daily_bytes", f"{_daily(key.daily_bytes, 'API_KEY_DAILY_BYTES')}/day", "bytes"
            ),
        )
        owner_email = key.owner.email if key.owner_id and key.owner else ""
        return Meter("api_key", key.pk, tuple(x for x in limits if x), (owner_email,), bounded=True)
    if actor is not None and actor.kind == "customer":
        rate = Limit.parse("rate", _default("API_VISITOR_RATE"))
        return Meter("visitor", actor.customer.pk, (rate,) if rate else ())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "pk", None):
        rate = Limit.parse("rate", _default("API_AGENT_RATE"))
        return Meter("user", user.pk, (rate,) if rate else ())
    return None


def _daily(own: int | None, name: str) -> int:
    return own if own is not None else settings.PARLEY[name]


class RateLimited(exceptions.Throttled):
    default_code = "rate_limited"

    def __init__(self, decision: quotas.Decision) -> None:
        limit = decision.limit
        code = "rate_limited" if limit.name == "rate" else "quota_exceeded"
        wait = math.ceil(decision.retry_after)
        over = (
            f"Over the {limit.name} limit ({limit.amount} {limit.measure} per "
            f"{_period(limit.window)})"
        )
        super().__init__(detail=throttled_message(wait, over), code=code)
        self.wait, self.limit = wait, limit.name


class QuotaUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "quota_unavailable"
    default_detail = "Usage cannot be metered right now; retry shortly."

    def __init__(self, wait: float) -> None:
        super().__init__()
        self.wait = math.ceil(wait)


def _period(seconds: float) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return name if count == 1 else f"{count} {name}s"
    return f"{seconds:g} s"


class QuotaThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        meter = meter_for(request)
        if meter is None or not meter.limits:
            return True
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        decision = quotas.charge(
            meter.kind,
            meter.owner,
            meter.limits,
            {"requests": 1, "bytes": size},
            bounded=meter.bounded,
        )
        # The response's bytes are counted after it is rendered, and its RateLimit headers
        # set (chat.middleware).
        request._request.parley_meter = meter
        request._request.parley_decision = decision
        if decision.allowed:
            return True
        if decision.limit is quotas.UNAVAILABLE:
            raise QuotaUnavailable(decision.retry_after)
        if meter.kind == "api_key":
            limit = decision.limit
            window = max(limit.window, RATE_NOTICE_WINDOW)
            owner_notify_once(
                kind=meter.kind,
                owner_id=meter.owner,
                limit=limit,
                window=window,
                recipients=list(meter.recipients),
                message=f"API key {meter.owner} ({request.auth.api_key.name}) reached its "
                f"{limit.name} limit: {limit.amount} {limit.measure} per {_period(limit.window)}. "
                "Calls over it get 429 until the window moves on.",
            )
        raise RateLimited(decision)


def charge_response(request, response) -> None:
    """Count an API key's response bytes against its daily volume (after the fact: the
    next call is refused once it is used up)."""
    meter: Meter | None = getattr(request, "parley_meter", None)
    if meter is None or meter.volume is None or getattr(response, "streaming", False):
        return
    size = len(response.content)
    if size:
        quotas.charge(
            meter.kind,
            meter.owner,
            [meter.volume],
            {"bytes": size},
            force=True,
            bounded=meter.bounded,
        )


def rate_headers(request, response) -> None:
    """The RateLimit-* fields (the IETF httpapi draft's, as most clients read them) on every
    metered answer, 429 included, so a caller can slow down before it is refused: the
    request limit closest to running out, its remaining calls, and the seconds until its
    window has fully moved on (an upper bound: the windows slide, freeing calls as they
    go; on a 429, Retry-After's wait). Nothing while the store is unreachable (nothing
    was counted)."""
    meter: Meter | None = getattr(request, "parley_meter", None)
    decision: quotas.Decision | None = getattr(request, "parley_decision", None)
    if meter is None or decision is None or decision.degraded:
        return
    limits = [x for x in meter.limits if x.measure == "requests"]
    if not limits:
        return

    def left(limit: Limit) -> int:
        if not decision.allowed and decision.limit is limit:
            return 0
        counted = 1 if decision.allowed else 0  # a refused call counted nothing
        return max(0, limit.amount - decision.used.get(limit.name, 0) - counted)

    tight = min(limits, key=lambda x: (left(x), x.window))
    if not decision.allowed and decision.limit is not None and decision.limit not in limits:
        # Refused by the daily byte quota: say so (0 left until Retry-After), or a client
        # pacing itself on the request limit's headroom calls on into a day of 429s.
        tight = decision.limit
    if not decision.allowed and decision.limit is tight:
        reset = max(1, math.ceil(decision.retry_after))
    else:
        reset = math.ceil(tight.window)
    response["RateLimit-Limit"] = str(tight.amount)
    response["RateLimit-Remaining"] = str(left(tight))
    response["RateLimit-Reset"] = str(reset)
    response["RateLimit-Policy"] = ", ".join(f"{x.amount};w={math.ceil(x.window)}" for x in limits)
