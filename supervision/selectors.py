"""Reads for the reports: sums over the daily rollups (supervision.rollups), grouped by
queue, agent or day, with the ratios worked out here. A report reads at most one row per
(day, queue, agent) in its range: no message or conversation is scanned."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum

from bots.models import Flow
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
    "bot_containment": "Bot containment",
    "csat_avg": "CSAT (1-5)",
    "csat_count": "CSAT answers",
}


def _reports_db() -> str:
    """The reports read rollups and names only, which tolerate a replica's lag: the
    replica when DATABASE_REPLICA_URL is set (docs/operations.md), else the primary."""
    return settings.REPORTS_DATABASE


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
        names = {u.pk: (u.get_full_name() or u.get_username()) for u in users}
        names[0] = "(unassigned)"
        return names
    return {key: key.isoformat() for key in keys}


def report_rows(*, group: Group, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """One row per queue, agent or day in ``[first, last]``, ordered by key."""
    column = GROUPS[group]
    sums = (
        ReportDay.objects.using(_reports_db())
        .filter(day__gte=first, day__lte=last)
        .values(column)
        .annotate(**{name: Sum(name) for name in SUMMED})
        .order_by(column)
    )
    sums = list(sums)
    names = _names(group, [row[column] for row in sums])
    rows = []
    for row in sums:
        key = row[column]
        rows.append(
            {
                "key": key.isoformat() if isinstance(key, dt.date) else key,
                "name": names.get(key, str(key)),
                "conversations": row["conversations"],
                "resolved": row["resolved"],
                "abandoned": row["abandoned"],
                "resolution_rate": _ratio(row["resolved"], row["conversations"]),
                "first_response_avg_s": _ratio(
                    row["first_response_seconds"], row["first_response_count"], 1
                ),
                "handle_avg_s": _ratio(row["handle_seconds"], row["handle_count"], 1),
                "sla_attainment": _ratio(row["sla_met"], row["sla_count"]),
                "bot_containment": _ratio(row["bot_contained"], row["bot_count"]),
                "csat_avg": _ratio(row["csat_sum"], row["csat_count"], 2),
                "csat_count": row["csat_count"],
            }
        )
    return rows


VARIANT_COLUMNS = ("flow", "node", "variant", "sessions", "converted", "conversion_rate")


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


def user_can_supervise(user) -> bool:
    """The floor dashboard and its actions: staff who may see every conversation."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and (user.is_superuser or user.has_perm("chat.view_conversation"))
    )
