"""Offline messages on the floor (README, "Supervising the floor"): answered later, not live
waits. The verdict, the queue row and the waiting list agree: an offline message is counted
under Offline with its age, never as waiting or past the SLA, even once agents are back."""

from __future__ import annotations

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from agents.models import AgentPresence
from routing.models import Queue, QueueEntry
from supervision.floor import floor_snapshot
from tests.routing.conftest import make_queue, online_agent, waiting
from tests.supervision.test_floor_socket import boss, floor_socket, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def _aged(conversation, now, *, seconds: int, sla: int = 60) -> None:
    """The entry was queued ``seconds`` ago with a ``sla``-second SLA (time set, not slept)."""
    QueueEntry.objects.filter(conversation=conversation, state__in=QueueEntry.OPEN_STATES).update(
        enqueued_at=now - dt.timedelta(seconds=seconds),
        sla_due_at=now - dt.timedelta(seconds=seconds - sla),
    )


def _offline_then_agents_back(now):
    """Two customers leave offline messages while the queue is closed (no agent), then the
    queue reopens and an agent comes back: the walkthrough's floor."""
    queue = make_queue(name="Care", sla_seconds=60, limit_mode=Queue.LimitMode.FIXED, max_waiting=0)
    first, second = waiting(queue), waiting(queue)
    modes = set(
        QueueEntry.objects.filter(conversation__in=[first, second]).values_list("mode", flat=True)
    )
    assert modes == {QueueEntry.Mode.OFFLINE}
    _aged(first, now, seconds=214)
    _aged(second, now, seconds=73)
    Queue.objects.filter(pk=queue.pk).update(limit_mode=Queue.LimitMode.NONE)
    online_agent(queue, capacity=1)
    return queue, first, second


def _row(snap, name):
    return next(q for q in snap["queues"] if q["name"] == name)


def test_offline_messages_are_not_live_waits_anywhere_on_the_page(published):
    now = timezone.now()
    _queue, first, second = _offline_then_agents_back(now)
    snap = floor_snapshot(now=now)
    row = _row(snap, "Care")
    assert (row["waiting"], row["longest_wait_s"], row["at_risk"], row["past_sla"]) == (0, 0, 0, 0)
    assert row["offline"] == 2 and row["offline_oldest_s"] == 214.0
    assert snap["verdict"]["kind"] == "ok"
    listed = {w["conversation"]: w for w in snap["waiting"]}
    assert set(listed) == {first.pk, second.pk}
    for w in listed.values():
        # Marked as offline messages, with their age, and not red: no SLA for them.
        assert w["offline"] is True and w["mode"] == "offline"
        assert w["past_sla"] is False
    assert (listed[first.pk]["wait_s"], listed[second.pk]["wait_s"]) == (214.0, 73.0)
    # What the page says must agree: nothing red in the list while the verdict is green.
    assert not any(w["past_sla"] for w in snap["waiting"])


def test_a_live_chat_past_the_sla_still_counts_and_comes_before_offline_messages(published):
    now = timezone.now()
    queue, first, _second = _offline_then_agents_back(now)
    # The agent is now busy with an offline message; a live customer arrives and waits.
    AgentPresence.objects.update(capacity=0)
    live = waiting(queue)
    entry = QueueEntry.objects.get(conversation=live, state__in=QueueEntry.OPEN_STATES)
    assert entry.mode == QueueEntry.Mode.LIVE
    _aged(live, now, seconds=120)
    snap = floor_snapshot(now=now)
    row = _row(snap, "Care")
    assert (row["waiting"], row["past_sla"], row["longest_wait_s"]) == (1, 1, 120.0)
    assert row["offline"] == 2
    assert snap["verdict"]["kind"] in ("technical", "staffing")
    assert "1 past SLA" in snap["verdict"]["text"]
    # Live chats first (the one past the SLA red), then the offline messages, oldest first,
    # although the offline one waited longer.
    order = [(w["conversation"], w["offline"], w["past_sla"]) for w in snap["waiting"]]
    assert order[0] == (live.pk, False, True)
    assert order[1] == (first.pk, True, False)
    # Every red row in the list is counted in the queue row's Past SLA, and the other way.
    assert sum(w["past_sla"] for w in snap["waiting"]) == row["past_sla"]


async def test_the_floor_socket_pushes_the_same_offline_figures():
    now = timezone.now()
    await database_sync_to_async(_offline_then_agents_back)(now)
    supervisor = await database_sync_to_async(boss)()
    comm = await floor_socket(supervisor)
    snap = await snapshot(comm, lambda s: any(q["name"] == "Care" for q in s["queues"]))
    row = _row(snap, "Care")
    assert (row["waiting"], row["past_sla"], row["offline"]) == (0, 0, 2)
    assert row["offline_oldest_s"] >= 214
    assert snap["verdict"]["kind"] == "ok"
    assert [w["offline"] for w in snap["waiting"]] == [True, True]
    assert [w["past_sla"] for w in snap["waiting"]] == [False, False]
    await comm.disconnect()


def test_agent_reasons_and_states_carry_admin_s_labels(published):
    queue = make_queue(name="Labels")
    agent = online_agent(queue)
    AgentPresence.objects.filter(user=agent).update(reason="console_lost")
    snap = floor_snapshot()
    me = next(a for a in snap["agents"] if a["id"] == agent.pk)
    presence = AgentPresence.objects.get(user=agent)
    # The same mapping as admin's Agent presence (the model's choices), not a copy.
    assert me["reason"] == "console_lost"
    assert me["reason_label"] == presence.get_reason_display() == "Console closed or silent"
    assert me["status_label"] == presence.get_status_display() == "Online"
    AgentPresence.objects.filter(user=agent).update(reason="new")
    me = next(a for a in floor_snapshot()["agents"] if a["id"] == agent.pk)
    assert me["reason_label"] == "Never set"
