"""Reads for the reports: sums over the daily rollups (supervision.rollups), grouped by
queue, agent or day, with the ratios worked out here. A report reads at most one row per
(day, queue, agent) in its range: no message or conversation is scanned."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Sum

from bots.models import Flow
from chat.exceptions import ValidationError
from chat.names import user_name
from routing.models import Queue
from supervision.models import ReportDay, VariantDay

Group = Literal["queue", "agent", "day"]
GROUPS: dict[str, str] = {"queue": "queue_id", "agent": "agent_id", "day": "day"}
SUMMED = (
    "conversations",
    "resolved",
    "abandoned",
    "first_response_count",
    "first_response_seconds",
    "handle_count",
    "handle_seconds",
    "sla_count",
    "sla_met",
    "bot_count",
    "bot_contained",
    "csat_count",
    "csat_sum",
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
# The columns of a report, in order (the CSV export's header).
COLUMNS = (
    "key",
    "name",
    "conversations",
    "resolved",
    "abandoned",
    "resolution_rate",
    "first_response_avg_s",
    "handle_avg_s",
    "sla_attainment",
    "sla_count",
    "bot_containment",
    "csat_avg",
    "csat_count",
)

LABELS = {
    "name": "Name",
    "conversations": "Conversations",
    "resolved": "Resolved",
    "abandoned": "Abandoned",
    "resolution_rate": "Resolution rate",
    "first_response_avg_s": "First response (avg s)",
    "handle_avg_s": "Handle time (avg s)",
    "sla_attainment": "SLA attainment",
    "sla_count": "SLA entries",
    "bot_containment": "Bot containment",
    "csat_avg": "CSAT (1-5)",
    "csat_count": "CSAT answers",
}


def _reports_db() -> str:
    """The reports read rollups and names only, which tolerate a replica's lag: the
    replica when DATABASE_REPLICA_URL is set (docs/operations.md), else the primary."""
    return settings.REPORTS_DATABASE


MAX_REPORT_DAYS = 3660
DEFAULT_REPORT_DAYS = 7


def report_range(*, first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
    """A report's days, both inclusive: ``last`` defaults to today (UTC), ``first`` to the
    week ending on ``last``. The page and the API share it."""
    if last is None:
        last = dt.datetime.now(dt.UTC).date()
    if first is None:
        first = last - dt.timedelta(days=min(DEFAULT_REPORT_DAYS - 1, (last - dt.date.min).days))
    if first > last:
        raise ValidationError("from is after to.", field="from")
    if (last - first).days > MAX_REPORT_DAYS:
        raise ValidationError(f"At most {MAX_REPORT_DAYS} days per report.", field="from")
    return first, last


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _names(group: Group, keys: list) -> dict[Any, str]:
    if group == "queue":
        names = dict(
            Queue.objects.using(_reports_db()).filter(pk__in=keys).values_list("pk", "name")
        )
        names[0] = "(no queue)"
        return names
    if group == "agent":
        users = get_user_model().objects.using(_reports_db()).filter(pk__in=keys)
        names = {u.pk: user_name(u) for u in users.select_related("agent_profile")}
        names[0] = "(unassigned)"
        return names
    return {key: key.isoformat() for key in keys}


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """The report's columns from one group's sums (ratios worked out here)."""
    return {
        "conversations": row["conversations"] or 0,
        "resolved": row["resolved"] or 0,
        "abandoned": row["abandoned"] or 0,
        "resolution_rate": _ratio(row["resolved"] or 0, row["conversations"] or 0),
        "first_response_avg_s": _ratio(
            row["first_response_seconds"] or 0, row["first_response_count"] or 0, 1
        ),
        "handle_avg_s": _ratio(row["handle_seconds"] or 0, row["handle_count"] or 0, 1),
        "sla_attainment": _ratio(row["sla_met"] or 0, row["sla_count"] or 0),
        # SLA counts queue entries (in the queue they waited in, with the agent who answered,
        # on the day they were queued), not the row's conversations: a row can have entries
        # and no conversation (one transferred on, or created the day before). The count
        # says what the ratio is over, as csat_count does for csat_avg.
        "sla_count": row["sla_count"] or 0,
        "bot_containment": _ratio(row["bot_contained"] or 0, row["bot_count"] or 0),
        "csat_avg": _ratio(row["csat_sum"] or 0, row["csat_count"] or 0, 2),
        "csat_count": row["csat_count"] or 0,
    }


def _days(
    first: dt.date,
    last: dt.date,
    site_id: int | None = None,
    queue_id: int | None = None,
    agent_id: int | None = None,
) -> QuerySet[ReportDay]:
    qs = ReportDay.objects.using(_reports_db()).filter(day__gte=first, day__lte=last)
    for column, value in (("site_id", site_id), ("queue_id", queue_id), ("agent_id", agent_id)):
        if value is not None:
            qs = qs.filter(**{column: value})
    return qs


def report_rows(
    *,
    group: Group,
    first: dt.date,
    last: dt.date,
    site_id: int | None = None,
    queue_id: int | None = None,
    agent_id: int | None = None,
) -> list[dict[str, Any]]:
    """One row per queue, agent or day in ``[first, last]``, ordered by key; ``site_id``,
    ``queue_id`` and ``agent_id`` narrow it (0: none, as in the rollups)."""
    column = GROUPS[group]
    sums = list(
        _days(first, last, site_id, queue_id, agent_id)
        .values(column)
        .annotate(**{name: Sum(name) for name in SUMMED})
        .order_by(column)
    )
    names = _names(group, [row[column] for row in sums])
    return [
        {
            "key": row[column].isoformat() if isinstance(row[column], dt.date) else row[column],
            "name": names.get(row[column], str(row[column])),
            **_figures(row),
        }
        for row in sums
    ]


def report_totals(
    *,
    first: dt.date,
    last: dt.date,
    site_id: int | None = None,
    queue_id: int | None = None,
    agent_id: int | None = None,
) -> dict[str, Any]:
    """The same figures over the whole range, every group together."""
    sums = _days(first, last, site_id, queue_id, agent_id).aggregate(
        **{name: Sum(name) for name in SUMMED}
    )
    return _figures(sums)


VARIANT_COLUMNS = ("flow", "node", "variant", "sessions", "converted", "conversion_rate")
VARIANT_LABELS = {
    "flow": "Flow",
    "node": "Node",
    "variant": "Variant",
    "sessions": "Sessions",
    "converted": "Converted",
    "conversion_rate": "Conversion rate",
}


def variant_rows(*, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Conversion per flow variant in ``[first, last]``."""
    sums = list(
        VariantDay.objects.using(_reports_db())
        .filter(day__gte=first, day__lte=last)
        .values("flow_id", "node", "variant")
        .annotate(sessions=Sum("sessions"), converted=Sum("converted"))
        .order_by("flow_id", "node", "variant")
    )
    flows = dict(
        Flow.objects.using(_reports_db())
        .filter(pk__in={r["flow_id"] for r in sums})
        .values_list("pk", "name")
    )
    return [
        {
            "flow": flows.get(row["flow_id"], str(row["flow_id"])),
            "node": row["node"],
            "variant": row["variant"],
            "sessions": row["sessions"],
            "converted": row["converted"],
            "conversion_rate": _ratio(row["converted"], row["sessions"]),
        }
        for row in sums
    ]


def user_can_supervise(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The floor dashboard and its actions: staff who may see every conversation."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and (user.is_superuser or user.has_perm("chat.view_conversation"))
    )
