"""Reports and offline messages: an offline message (left while the queue was closed, over
its limit or without agents) has no SLA (README, "Supervising the floor"), so it never
counts in the reports' SLA attainment, neither met nor missed, as on the floor. The probe
saw General at 0.0 over 48 entries, about 45 of them offline messages."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model

from routing.models import Queue, QueueEntry
from supervision import rollups, selectors
from tests.supervision.test_reports import D, World, at, by_name

pytestmark = pytest.mark.django_db


def _offline(world: World, *, queued: str, state: str, assigned: str | None = None) -> None:
    c = world.conversation(D, queue=world.qa, status="queued", queued=queued)
    enqueued = at(D, queued)
    QueueEntry.objects.create(
        conversation=c,
        queue=world.qa,
        mode=QueueEntry.Mode.OFFLINE,
        state=state,
        enqueued_at=enqueued,
        sla_due_at=enqueued + dt.timedelta(seconds=world.qa.sla_seconds),
        assigned_at=assigned and at(D, assigned),
        assigned_agent=world.ann if state == QueueEntry.State.ASSIGNED else None,
    )


def test_offline_messages_are_neither_met_nor_missed(client):
    world = World()
    # One live chat answered within the SLA (60 s) ...
    world.conversation(D, queue=world.qa, agent=world.ann, status="assigned", queued="10:00:00",
                       assigned="10:00:30", entry=("assigned", None))  # fmt: skip
    # ... and offline messages: one still kept for later (its due time long past), one
    # answered hours later once an agent was back, one the customer gave up on.
    _offline(world, queued="02:00:00", state=QueueEntry.State.WAITING)
    _offline(world, queued="03:00:00", state=QueueEntry.State.ASSIGNED, assigned="09:00:00")
    _offline(world, queued="04:00:00", state=QueueEntry.State.ABANDONED)
    rollups.rollup_days(first=D, last=D)

    row = by_name(selectors.report_rows(group="queue", first=D, last=D))["A"]
    assert (row["sla_count"], row["sla_attainment"]) == (1, 1.0)
    agent_row = by_name(selectors.report_rows(group="agent", first=D, last=D))["Ann"]
    assert (agent_row["sla_count"], agent_row["sla_attainment"]) == (1, 1.0)

    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "p"))
    response = client.get(f"/supervision/reports/?from={D}&to={D}&format=csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    (csv_row,) = [r for r in table if r["name"] == "A"]
    assert (csv_row["sla_count"], csv_row["sla_attainment"]) == ("1", "1.0")


def test_a_queue_with_only_offline_messages_has_no_sla_figure():
    world = World()
    _offline(world, queued="02:00:00", state=QueueEntry.State.WAITING)
    rollups.rollup_days(first=D, last=D)
    rows = by_name(selectors.report_rows(group="queue", first=D, last=D))
    assert Queue.objects.filter(name="A").exists()
    row = rows.get("A")
    assert row is None or (row["sla_count"], row["sla_attainment"]) == (0, None)
