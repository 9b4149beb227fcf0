"""Automation rules: the one home of their validation (the admin form and the API both
call ``rule_check``), saving, deleting, enabling and pausing. Each change recomputes the
site's listened events in the same transaction."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.models import AgentProfile
from chat.exceptions import ParleyError, ValidationError
from chat.models import Site
from integrations import rules as rule_format
from integrations.models import Rule, WebhookEndpoint
from integrations.services.endpoints import clean_limits, site_hooks_refresh

RULE_LIMITS = ("rate", "daily_requests", "time_budget")
RULE_FIELDS = ("name", "event", "conditions", "actions", "enabled", "position", "owner_email",
               *RULE_LIMITS)  # fmt: skip
POSITION_MAX = 2**31 - 1


def rule_check(
    *, site_id: int | None, event: Any, conditions: Any, actions: Any, limits: dict[str, Any]
) -> list[str]:
    """Every problem with a rule, all at once: its format, its limits, then what its
    well-formed actions name (``_reference_problems``). The one check of both the admin
    form and the API."""
    checked = rule_format.check(event=event, conditions=conditions, actions=actions)
    problems = checked.problems + _limit_problems(limits)
    if site_id is None:
        return problems
    return problems + _reference_problems(site_id=site_id, actions=checked.actions)


def _limit_problems(limits: dict[str, Any]) -> list[str]:
    problems = []
    for name in RULE_LIMITS:
        if name in limits:  # one by one: clean_limits stops at the first bad one
            try:
                clean_limits({name: limits[name]})
            except ParleyError as exc:
                problems.append(f"{exc.field}: {exc}")
    return problems


def _reference_problems(*, site_id: int, actions: list[tuple[int, Any]]) -> list[str]:
    """What the actions name must exist when the rule is saved: a webhook endpoint of the
    rule's site, an active agent. A rule naming neither would only fail when it fires.
    ``actions``: (index, action) of the well-formed ones."""
    problems = []
    for i, action in actions:
        kind = action.get("type")
        if kind == "webhook":
            endpoint = action["endpoint"]
            if not WebhookEndpoint.objects.filter(pk=endpoint, site_id=site_id).exists():
                problems.append(
                    f"actions[{i}].endpoint: no webhook endpoint {endpoint} on this site "
                    "(the id in Integrations > Webhook endpoints)."
                )
        elif kind == "assign":
            agent = action["agent"]
            known = AgentProfile.objects.filter(user__username=agent, user__is_active=True)
            if not known.exists():
                problems.append(f"actions[{i}].agent: no active agent {agent!r}.")
    return problems


def _scalar_problems(rule: Rule, values: dict[str, Any]) -> list[str]:
    """The problems of the fields besides the rule's format, as "path: what is wrong";
    sets each good one on ``rule``."""
    problems = []
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            problems.append("name: text of 1 to 120 characters.")
        else:
            rule.name = name
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            problems.append("enabled: must be true or false.")
        else:
            rule.enabled = values["enabled"]
    if "position" in values:
        position = values["position"]
        if (
            not isinstance(position, int)
            or isinstance(position, bool)
            or not 0 <= position <= POSITION_MAX
        ):
            problems.append(f"position: must be an integer from 0 to {POSITION_MAX}.")
        else:
            rule.position = position
    if "owner_email" in values:
        email = values["owner_email"]
        if not isinstance(email, str) or (email and "@" not in email) or len(email) > 254:
            problems.append("owner_email: must be an email address.")
        else:
            rule.owner_email = email
    return problems


_INDEX = re.compile(r"\.(\d+)(?=\.|$)")  # a list's index in a dotted path: ".0" before "." or end


def rule_path(path: str) -> str:
    """A field's path in a rule's one style, ``conditions[0].any[1].value`` (as the format's
    messages write it), from the dotted style of the JSON checks (``conditions.0.value``:
    chat/inbound.py, whose paths serve every endpoint)."""
    return _INDEX.sub(r"[\1]", path)


def rule_error(exc: ValidationError) -> ValidationError:
    """``exc`` with its field and message in rule paths (the same error when it names none)."""
    if not exc.field or rule_path(exc.field) == exc.field:
        return exc
    path = rule_path(exc.field)
    return ValidationError(exc.message.replace(exc.field, path, 1), code=exc.code, field=path)


def _no_nul(value: Any, path: str) -> None:
    """PostgreSQL stores no NUL in text or jsonb: refuse it here, as a 400 naming the field
    by its rule path (``conditions[0].value``), rather than as the database's error."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError(f"{path} must not contain NUL characters.", field=path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key, path)
            _no_nul(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_nul(item, f"{path}[{i}]")


@transaction.atomic
def rule_save(*, rule: Rule | None = None, site: Site | None = None, **values: Any) -> Rule:
    """Create (with ``site``) or update a rule from raw values, validated as admin does."""
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(f"unknown fields {sorted(unknown)}.", field=sorted(unknown)[0])
    if rule is None:
        missing = [name for name in ("name", "event", "actions") if name not in values]
        if missing:
            raise ValidationError(f"{', '.join(missing)} required.", field=missing[0])
        rule = Rule(site=site)
    for name, value in values.items():
        _no_nul(value, name)
    problems = _scalar_problems(rule, values)
    for name in ("event", "conditions", "actions"):
        if name in values:
            setattr(rule, name, values[name])
    limits = {name: values[name] for name in RULE_LIMITS if name in values}
    problems += rule_check(
        site_id=rule.site_id,
        event=rule.event,
        conditions=rule.conditions,
        actions=rule.actions,
        limits=limits,
    )
    if problems:
        raise ValidationError("; ".join(problems), field=problems[0].split(":")[0])
    for name, value in clean_limits(limits).items():
        setattr(rule, name, value)
    rule.save()
    site_hooks_refresh(site_id=rule.site_id)
    return rule


@transaction.atomic
def rule_set_enabled(*, rule: Rule, enabled: bool) -> Rule:
    """Pause (``enabled=False``) or enable a rule; enabling also lifts a quota pause, as
    admin's "resume" does."""
    rule.enabled = enabled
    if enabled:
        # The episode is over: its reason and time go with the pause, else a rule that
        # runs again still reads "rate limit reached" in the API and in admin.
        rule.paused_until, rule.limited_at, rule.limited_reason = None, None, ""
    rule.save(
        update_fields=["enabled", "paused_until", "limited_at", "limited_reason", "updated_at"]
    )
    site_hooks_refresh(site_id=rule.site_id)
    return rule


def rules_resume(*, rule_ids: list[int]) -> int:
    """Lift the quota pause of these rules (admin's "resume"), with its reason; returns how
    many were paused."""
    return Rule.objects.filter(pk__in=rule_ids, paused_until__gt=timezone.now()).update(
        paused_until=None, limited_at=None, limited_reason=""
    )


@transaction.atomic
def rule_delete(*, rule: Rule) -> None:
    site_id = rule.site_id
    rule.delete()
    site_hooks_refresh(site_id=site_id)
