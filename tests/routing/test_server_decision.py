"""The decision as one PostgreSQL call (parley_route_entry, routing migration 0004) against
the Python decision it mirrors: the same rows, the same timeline, the same frames.

test_router.py runs every routing rule both ways; these tests compare the two directly,
on one floor, by making the decision with each and rolling it back in between."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from agents.models import AgentPresence
from chat.models import Conversation, ConversationEvent
from chat.payloads import conversation_payload
from routing.models import Queue, QueueEntry, Reservation
from routing.payloads import reservation_payload
from routing.services import reservation_decline, route_entry, sql
from routing.services.core import ROUTER
from tests.factories import agent_actor

from .conftest import entry_of, make_queue, online_agent, open_offer, waiting

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the server decision exists on PostgreSQL only")


class _Undo(Exception):
    pass


def _state(conversation_id: int, entry_id: int, after_event: int) -> dict:
    """Everything a decision writes, without ids and wall-clock stamps."""
    reservations = list(
        Reservation.objects.filter(entry_id=entry_id)
        .order_by("id")
        .values("agent_id", "state", "attempt", "sticky", "offered_at", "expires_at")
    )
    entry = QueueEntry.objects.filter(pk=entry_id).values().get()
    events = []
    for event in ConversationEvent.objects.filter(
        conversation_id=conversation_id, id__gt=after_event
    ).order_by("id"):
        data = {k: v for k, v in event.data.items() if k != "reservation"}
        events.append((event.type, event.from_status, event.to_status, event.reason,
                       event.actor, data))  # fmt: skip
    loads = dict(AgentPresence.objects.values_list("user_id", "load"))
    status = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
    return {"reservations": reservations, "entry": entry, "events": events, "loads": loads,
            "status": status}  # fmt: skip


def _decide_and_undo(settings, *, server: bool, entry: QueueEntry, now: dt.datetime):
    settings.PARLEY = {**settings.PARLEY, "ROUTING_SERVER_DECISIONS": server}
    last = ConversationEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    out = {}
    try:
        with transaction.atomic():
            decision = route_entry(entry_id=entry.pk, now=now)
            out = {"decision": (decision.outcome, decision.agent_id, decision.code,
                                decision.reason)}  # fmt: skip
            out |= _state(entry.conversation_id, entry.pk, last)
            raise _Undo
    except _Undo:
        pass
    return out


def _both_ways(settings, entry: QueueEntry, now: dt.datetime) -> dict:
    server = _decide_and_undo(settings, server=True, entry=entry, now=now)
    python = _decide_and_undo(settings, server=False, entry=entry, now=now)
    assert server == python
    return server


def test_both_decisions_write_the_same_offer_and_timeline(settings):
    queue = make_queue()
    now = timezone.now()
    first_agent = online_agent(queue, capacity=2)
    busy = online_agent(queue, capacity=2)
    idle = online_agent(queue, capacity=2)
    other = online_agent(queue, capacity=4)
    others = [busy.pk, idle.pk, other.pk]
    # Only the first agent takes offers while the conversation arrives and is declined.
    AgentPresence.objects.filter(user_id__in=others).update(status="away")
    conversation = waiting(queue)
    first = open_offer(conversation)
    assert first.agent_id == first_agent.pk
    reservation_decline(actor=agent_actor(first_agent), reservation_id=first.pk)
    entry = entry_of(conversation)
    assert entry.state == "waiting" and entry.offers == 1
    AgentPresence.objects.filter(user_id__in=others).update(status="online")
    AgentPresence.objects.filter(user=idle).update(display_name="")  # named "agent <id>"
    AgentPresence.objects.filter(user=busy).update(load=1)
    state = _both_ways(settings, entry, now=now + dt.timedelta(seconds=1))
    assert state["decision"][0] == "offered"
    assert state["decision"][1] in {busy.pk, idle.pk, other.pk} - {first.agent_id}
    (status, decided) = state["events"]
    assert status[0] == "status_changed" and decided[0] == "routing.decision"
    assert first.agent_id in decided[5]["excluded"]  # declined within the retry window


def test_both_decisions_agree_on_sticky_and_on_slot_races(settings):
    queue = make_queue()
    now = timezone.now()
    agents = [online_agent(queue, capacity=3) for _ in range(3)]
    conversation = waiting(queue)
    entry = entry_of(conversation)
    # The previous agent is asked first, and the entry remembers who they are.
    sticky = agents[2]
    QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=sticky.pk)
    Reservation.objects.filter(entry=entry).update(state="revoked", decided_at=now)
    AgentPresence.objects.update(load=0)
    QueueEntry.objects.filter(pk=entry.pk).update(state="waiting")
    Conversation.objects.filter(pk=conversation.pk).update(status="queued")
    entry.refresh_from_db()
    state = _both_ways(settings, entry, now=now)
    assert state["decision"][1] == sticky.pk and state["decision"][2] == "sticky"
    # The sticky agent is full now: the others are ranked and the first free one wins.
    AgentPresence.objects.filter(user=sticky).update(load=3)
    state = _both_ways(settings, entry, now=now)
    assert state["decision"][2] == "best"
    assert {"agent": sticky.pk, "skipped": "sticky agent not eligible now"} in (
        state["events"][-1][5]["tried"]
    )
    # Nobody eligible: the server call hands over to Python, which says why.
    AgentPresence.objects.update(load=3)
    state = _both_ways(settings, entry, now=now)
    assert state["decision"][0] == "nobody" and state["reservations"] == [
        r for r in state["reservations"] if r["state"] != "offered"
    ]


@pytest.mark.parametrize("server", [True, False], ids=["server", "python"])
def test_the_offer_frame_is_what_the_database_says(settings, published, server):
    settings.PARLEY = {**settings.PARLEY, "ROUTING_SERVER_DECISIONS": server}
    queue = make_queue(name="Billing")
    agent = online_agent(queue)
    published.listen(f"user.{agent.pk}")
    conversation = waiting(queue)
    reservation = open_offer(conversation)
    assert reservation is not None
    (frame,) = [
        f for f in published.frames(f"user.{agent.pk}") if f["type"] == "reservation.offered"
    ]
    conversation = Conversation.objects.get(pk=conversation.pk)
    expected = reservation_payload(
        Reservation.objects.get(pk=reservation.pk), conversation=conversation_payload(conversation)
    ) | {"note": ""}
    got = frame["reservation"]
    assert got.pop("expires_in") is not None
    expected.pop("expires_in")
    assert got == expected


def test_the_call_alone_makes_the_offer_and_says_why():
    queue = make_queue()
    agent = online_agent(queue, capacity=2)
    AgentPresence.objects.filter(user=agent).update(status="away")
    conversation = waiting(queue)
    entry = entry_of(conversation)
    AgentPresence.objects.filter(user=agent).update(status="online")
    now = timezone.now()
    result = sql.route_on_server(
        entry_id=entry.pk, now=now, skip_locked=False, candidates=5, actor=ROUTER
    )
    assert result["outcome"] == "offered" and result["agent"] == agent.pk
    assert result["why"] == "the only eligible agent, 0/2 chats"
    assert Reservation.objects.get(pk=result["reservation"]).state == "offered"
    assert AgentPresence.objects.get(user=agent).load == 1
    # A second call finds the entry offered: skipped, nothing written.
    again = sql.route_on_server(
        entry_id=entry.pk, now=now, skip_locked=True, candidates=5, actor=ROUTER
    )
    assert again == {"outcome": "skipped", "code": "not_waiting:offered"}
    assert Reservation.objects.filter(entry=entry).count() == 1


def test_a_zone_postgresql_does_not_know_is_left_to_python():
    queue = make_queue(business_hours={"mon": [["00:00", "24:00"]]}, timezone="UTC")
    online_agent(queue)
    AgentPresence.objects.update(status="away")
    conversation = waiting(queue)
    AgentPresence.objects.update(status="online")
    Queue.objects.filter(pk=queue.pk).update(timezone="Nowhere/Atlantis")
    result = sql.route_on_server(
        entry_id=entry_of(conversation).pk, now=timezone.now(), skip_locked=False,
        candidates=5, actor=ROUTER,
    )  # fmt: skip
    assert result == {"outcome": "python", "code": "queue_closed"}
    assert not Reservation.objects.filter(conversation=conversation).exists()


def test_business_hours_in_sql_match_queue_is_open():
    hours = {
        "mon": [["09:00", "12:00"], ["13:00", "17:30"]],
        "tue": [["00:00", "24:00"]],
        "fri": [["22:00", "24:00"]],
        "sat": [["00:00", "02:00"]],
    }
    zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]
    # Every 37 minutes over two weeks that include a DST change in Paris and New York.
    start = dt.datetime(2026, 10, 24, tzinfo=dt.UTC)
    moments = [start + dt.timedelta(minutes=37 * i) for i in range(14 * 24 * 60 // 37)]
    with connection.cursor() as cursor:
        for zone in zones:
            zoneinfo.ZoneInfo(zone)
            queue = Queue(business_hours=hours, timezone=zone)
            cursor.execute(
                "SELECT parley_queue_open(%s::jsonb, %s, t.m) "
                "FROM unnest(%s::timestamptz[]) WITH ORDINALITY AS t(m, n) ORDER BY t.n",
                [json.dumps(hours), zone, moments],
            )
            got = [row[0] for row in cursor.fetchall()]
            assert got == [queue.is_open(m) for m in moments], zone
            assert any(got) and not all(got)


def test_iso_text_in_sql_matches_isoformat():
    values = [
        dt.datetime(2026, 11, 25, 16, 40, 1, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 16, 40, 1, 120000, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 16, 40, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    ]
    with connection.cursor() as cursor:
        for value in values:
            cursor.execute("SELECT parley_iso(%s)", [value])
            assert cursor.fetchone()[0] == value.isoformat()
