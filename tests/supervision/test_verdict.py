"""The floor's verdict, on the real floor: long waits while agents have free slots are
technical; long waits while every agent is full are staffing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from routing.models import QueueEntry
from routing.services import reservation_accept
from supervision.floor import floor_snapshot
from tests.factories import agent_actor
from tests.routing.conftest import make_queue, online_agent, open_offer, waiting

pytestmark = pytest.mark.django_db(transaction=True)


def _late(conversation, now) -> None:
    """The customer has waited 5 minutes, past the 2-minute SLA (time set, not slept)."""
    QueueEntry.objects.filter(conversation=conversation, state__in=["waiting", "offered"]).update(
        enqueued_at=now - dt.timedelta(minutes=5), sla_due_at=now - dt.timedelta(minutes=3)
    )


def queue_row(snap, name):
    return next(q for q in snap["queues"] if q["name"] == name)


def test_long_waits_while_agents_have_free_slots_is_technical(published):
    now = timezone.now()
    queue = make_queue(name="Tech", sla_seconds=120)
    agent = online_agent(queue, capacity=3)
    late = waiting(queue)  # offered to the agent, who never sees it (their console is broken)
    assert open_offer(late) is not None
    _late(late, now)
    snap = floor_snapshot(now=now)
    assert queue_row(snap, "Tech")["past_sla"] == 1
    assert queue_row(snap, "Tech")["longest_wait_s"] == 300.0
    me = next(a for a in snap["agents"] if a["id"] == agent.pk)
    assert (me["load"], me["capacity"], me["free"]) == (1, 3, True)
    assert snap["verdict"]["kind"] == "technical", snap["verdict"]
    assert "1 agent(s) have a free slot" in snap["verdict"]["text"]


def test_long_waits_while_agents_are_full_is_staffing(published):
    now = timezone.now()
    queue = make_queue(name="Busy", sla_seconds=120)
    agent = online_agent(queue, capacity=1)
    first = waiting(queue)
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(first).pk)
    late = waiting(queue)  # nobody free: it waits
    assert open_offer(late) is None
    _late(late, now)
    snap = floor_snapshot(now=now)
    me = next(a for a in snap["agents"] if a["id"] == agent.pk)
    assert (me["load"], me["capacity"], me["free"]) == (1, 1, False)
    assert me["offers"]["accepted"] == 1
    assert queue_row(snap, "Busy")["past_sla"] == 1
    assert snap["verdict"]["kind"] == "staffing", snap["verdict"]


def test_no_long_wait_is_ok(published):
    queue = make_queue(name="Calm", sla_seconds=120)
    online_agent(queue)
    waiting(queue)
    snap = floor_snapshot()
    assert queue_row(snap, "Calm")["past_sla"] == 0
    assert snap["verdict"]["kind"] == "ok"
