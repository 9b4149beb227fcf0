"""The reports' rollups: each day's figures per (queue, agent) and per flow variant, built
from the source tables a whole day at a time and swapped in one transaction, so a rebuild
is idempotent and a report never sees half a day. Beat rebuilds the last
``REPORTS_ROLLUP_DAYS`` days every ``REPORTS_ROLLUP_INTERVAL`` seconds (incremental: a
day's cost is that day's traffic); ``manage.py reports_rollup --days N`` backfills.

Definitions (docs/operations.md, "Reports"): a conversation counts on the UTC day it was
created, in its site, its last queue and with its last assignee.
- first response: from its first entry in a queue to the first message of an agent;
- handle time: from its (last) assignment to its resolution;
- resolution: resolved / conversations; abandoned counted apart;
- SLA: live queue entries of the day (by enqueue time) answered by their SLA due time,
  among those answered, abandoned or still waiting past it (an entry the customer left is
  not counted, nor an offline message: it has no SLA, as on the floor);
- bot containment: bot sessions that ended without a handoff, among those that ended or
  handed off;
- conversion per variant: sessions shown a variant that reached the flow's goal;
- CSAT: supervision.csat (the hook).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from bots.models import BotSession
from chat.models import Conversation, Message, Participant
from routing.models import QueueEntry
from supervision.csat import csat_scores
from supervision.models import ReportDay, VariantDay

Key = tuple[dt.date, int, int, int]  # day, site, queue, agent
ROLLUP_LOCK = 0x5EB0_0001  # the advisory lock serialising rebuilds


@dataclass
class _Sums:
    fields: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, name: str, value: float = 1) -> None:
        self.fields[name] += value


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def _conversation_sums(start: dt.datetime, end: dt.datetime, sums: dict[Key, _Sums]) -> None:
    first_agent = (
        Message.objects.filter(conversation=OuterRef("pk"), sender__role=Participant.Role.AGENT)
        .order_by("seq")
        .values("created_at")[:1]
    )
    first_queued = (
        QueueEntry.objects.filter(conversation=OuterRef("pk"))
        .order_by("enqueued_at")
        .values("enqueued_at")[:1]
    )
    rows = (
        Conversation.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(first_agent_at=Subquery(first_agent), first_queued_at=Subquery(first_queued))
        .values_list(
            "id",
            "created_at",
            "site_id",
            "queue_id",
            "assignee_id",
            "status",
            "assigned_at",
            "resolved_at",
            "bot_session__state",
            "first_agent_at",
            "first_queued_at",
        )
    )
    scores = csat_scores(created_from=start, created_to=end)
    for (
        pk,
        created_at,
        site_id,
        queue_id,
        agent_id,
        status,
        assigned_at,
        resolved_at,
        bot_state,
        first_agent_at,
        first_queued_at,
    ) in rows.iterator(chunk_size=5000):
        row = sums[(_day(created_at), site_id, queue_id or 0, agent_id or 0)]
        row.add("conversations")
        if status == Conversation.Status.RESOLVED:
            row.add("resolved")
            if assigned_at is not None and resolved_at is not None:
                row.add("handle_count")
                row.add("handle_seconds", (resolved_at - assigned_at).total_seconds())
        elif status == Conversation.Status.ABANDONED:
            row.add("abandoned")
        if first_agent_at is not None and first_queued_at is not None:
            row.add("first_response_count")
            row.add(
                "first_response_seconds",
                max(0.0, (first_agent_at - first_queued_at).total_seconds()),
            )
        if bot_state in (BotSession.State.ENDED, BotSession.State.HANDED_OFF):
            row.add("bot_count")
            if bot_state == BotSession.State.ENDED:
                row.add("bot_contained")
        if pk in scores:
            row.add("csat_count")
            row.add("csat_sum", scores[pk])


def _sla_sums(
    start: dt.datetime, end: dt.datetime, now: dt.datetime, sums: dict[Key, _Sums]
) -> None:
    # An offline message (left while the queue was closed, full or unstaffed) is answered
    # later, not a live wait: it has no SLA (README, "Supervising the floor"), so it is
    # neither met nor missed here, whatever its sla_due_at says; the floor counts it apart.
    rows = (
        QueueEntry.objects.filter(enqueued_at__gte=start, enqueued_at__lt=end)
        .exclude(mode=QueueEntry.Mode.OFFLINE)
        .values_list(
            "enqueued_at",
            "conversation__site_id",
            "queue_id",
            "assigned_agent_id",
            "state",
            "assigned_at",
            "sla_due_at",
        )
    )
    for enqueued_at, site_id, queue_id, agent_id, state, assigned_at, due in rows.iterator(
        chunk_size=5000
    ):
        if state == QueueEntry.State.CANCELLED:
            continue
        answered = state == QueueEntry.State.ASSIGNED and assigned_at is not None
        if not answered and state in QueueEntry.OPEN_STATES and due > now:
            continue  # still waiting, not late yet: not decided
        row = sums[(_day(enqueued_at), site_id, queue_id, agent_id or 0)]
        row.add("sla_count")
        if answered and assigned_at <= due:
            row.add("sla_met")


def _variant_sums(start: dt.datetime, end: dt.datetime) -> dict[tuple, list[int]]:
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    rows = BotSession.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
        "created_at", "version__flow_id", "variants", "goal_reached_at"
    )
    for created_at, flow_id, variants, goal_reached_at in rows.iterator(chunk_size=5000):
        for node, variant in (variants or {}).items():
            counts = out[(_day(created_at), flow_id, str(node)[:64], str(variant)[:64])]
            counts[0] += 1
            counts[1] += goal_reached_at is not None
    return out


def rollup_days(*, first: dt.date, last: dt.date) -> int:
    """Rebuild the rollups of the days ``first`` to ``last`` (inclusive); returns the rows
    written. Safe to run twice or concurrently: each run replaces the days whole."""
    start, end = _day_start(first), _day_start(last + dt.timedelta(days=1))
    now = timezone.now()
    sums: dict[Key, _Sums] = defaultdict(_Sums)
    _conversation_sums(start, end, sums)
    _sla_sums(start, end, now, sums)
    variants = _variant_sums(start, end)
    report_rows = [
        ReportDay(
            day=day,
            site_id=site_id,
            queue_id=queue_id,
            agent_id=agent_id,
            **{
                name: (int(v) if not name.endswith("seconds") else v)
                for name, v in s.fields.items()
            },
        )
        for (day, site_id, queue_id, agent_id), s in sums.items()
    ]
    variant_rows = [
        VariantDay(
            day=day, flow_id=flow_id, node=node, variant=variant, sessions=n, converted=converted
        )
        for (day, flow_id, node, variant), (n, converted) in variants.items()
    ]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two runs at once (a slow beat run and the next) take turns instead of
            # both inserting a day's rows; SQLite's IMMEDIATE transactions already do.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        ReportDay.objects.filter(day__gte=first, day__lte=last).delete()
        VariantDay.objects.filter(day__gte=first, day__lte=last).delete()
        ReportDay.objects.bulk_create(report_rows, batch_size=2000)
        VariantDay.objects.bulk_create(variant_rows, batch_size=2000)
    return len(report_rows) + len(variant_rows)


def rollup_recent(*, days: int) -> int:
    """Beat's incremental run: today and the ``days - 1`` before it."""
    today = timezone.now().astimezone(dt.UTC).date()
    return rollup_days(first=today - dt.timedelta(days=max(1, days) - 1), last=today)
