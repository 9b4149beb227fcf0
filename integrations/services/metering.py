"""Quotas of webhook endpoints and rules (seed 004), on the shared sliding windows of
``chat.quotas``: a rate, a daily quota of requests and of bytes, and for rules the time they
consume. Over a limit an endpoint's deliveries wait and a rule pauses; the owner is told
once per window, by email and by a notice in admin (``chat.services.quota_notices``)."""

from __future__ import annotations

from dataclasses import dataclass

from chat import quotas
from chat.services.quota_notices import owner_notify_once
from integrations.models import Rule, WebhookEndpoint

WEBHOOK = "webhook"
RULE = "rule"


def parse(name: str, spec: str) -> quotas.Limit | None:
    measure = {"daily_bytes": "bytes", "time_budget": "ms"}.get(name, "requests")
    return quotas.Limit.parse(name, spec, measure)


def _limits(owner: Rule | WebhookEndpoint, names: tuple[str, ...]) -> list[quotas.Limit | None]:
    out = []
    for name in names:
        try:
            out.append(parse(name, getattr(owner, name)))
        except ValueError:  # saved before validation existed: no limit rather than a crash
            out.append(None)
    return out


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0
    limit: str = ""


def _verdict(decision: quotas.Decision) -> Verdict:
    name = decision.limit.name if decision.limit is not None else ""
    return Verdict(decision.allowed, decision.retry_after, name)


def endpoint_charge(endpoint: WebhookEndpoint, *, size: int) -> Verdict:
    """One delivery of ``size`` bytes, or the wait before it may go."""
    limits = _limits(endpoint, ("rate", "daily_requests", "daily_bytes"))
    decision = quotas.charge(WEBHOOK, endpoint.pk, limits, {"requests": 1, "bytes": size})
    if not decision.allowed and decision.limit is not None and not decision.degraded:
        owner_notify_once(
            kind=WEBHOOK,
            owner_id=endpoint.pk,
            limit=decision.limit,
            message=(
                f"Webhook endpoint {endpoint.url} (site {endpoint.site_id}) reached its "
                f"{decision.limit.name} limit; its deliveries wait "
                f"{decision.retry_after:.0f} s and none is lost."
            ),
            recipients=[endpoint.owner_email],
        )
    return _verdict(decision)


def rule_admit(rule: Rule) -> Verdict:
    """One run of the rule, if its rate, daily runs and time budget allow."""
    limits = _limits(rule, ("rate", "daily_requests", "time_budget"))
    return _tell(rule, quotas.charge(RULE, rule.pk, limits, {"requests": 1, "ms": 0}))


def rule_spent(rule: Rule, *, ms: int) -> Verdict:
    """Count the time a run took (known only afterwards); over the budget, the next runs
    are refused until it frees up."""
    limits = _limits(rule, ("time_budget",))
    return _tell(rule, quotas.charge(RULE, rule.pk, limits, {"ms": ms}, force=True))


def _tell(rule: Rule, decision: quotas.Decision) -> Verdict:
    if not decision.allowed and decision.limit is not None and not decision.degraded:
        owner_notify_once(
            kind=RULE,
            owner_id=rule.pk,
            limit=decision.limit,
            message=(
                f"Automation rule {rule.name!r} (site {rule.site_id}) reached its "
                f"{decision.limit.name} limit and is paused for "
                f"{decision.retry_after:.0f} s; the site's other rules keep running."
            ),
            recipients=[rule.owner_email],
        )
    return _verdict(decision)


def reset(owner: WebhookEndpoint | Rule) -> None:
    if isinstance(owner, Rule):
        quotas.reset(RULE, owner.pk, _limits(owner, ("rate", "daily_requests", "time_budget")))
    else:
        quotas.reset(WEBHOOK, owner.pk, _limits(owner, ("rate", "daily_requests", "daily_bytes")))
