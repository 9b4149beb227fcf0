"""The pick as one PostgreSQL call (parley_route_pick, routing/sql/route_pick.sql) against
the Python pick it mirrors: the same rows, the same timeline, the same frames.

test_router.py runs every routing rule both ways; these tests compare the two directly,
on one floor, by making the decision with each and rolling it back in between: every rule
of the pick (eligibility, ranking and ties, exclusions, stickiness, hours, races, the
order waiting conversations are served in), so that a change to either copy alone fails."""

from __future__ import annotations

import datetime as dt
import io
import json
import zoneinfo

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from agents.models import AgentPresence
from chat.models import Conversation, ConversationEvent
from chat.payloads import conversation_payload
from routing import dbfunctions
from routing.models import Queue, QueueEntry, Reservation
from routing.payloads import reservation_payload
from routing.services import reservation_decline, route_entry, route_for_agent, sql_server
from tests.factories import agent_actor

from .conftest import console, entry_of, make_queue, online_agent, open_offer, waiting

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the server decision exists on PostgreSQL only")


# The language rule's inputs for a direct call (no settled language here: they change nothing).
LANGUAGE_OFF = {"translation_ok": True, "language_wait": 120}


class _Undo(Exception):
    pass


def _state(after_event: int) -> dict:
    """Everything a decision writes, without new ids and wall-clock stamps."""
    reservations = list(
        Reservation.objects.order_by("entry_id", "attempt", "agent_id").values(
            "entry_id", "agent_id", "state", "attempt", "sticky", "offered_at", "expires_at"
        )
    )
    entries = list(QueueEntry.objects.order_by("id").values())
    events = []
    for event in ConversationEvent.objects.filter(id__gt=after_event).order_by("id"):
        data = {k: v for k, v in event.data.items() if k != "reservation"}
        events.append((event.conversation_id, event.type, event.from_status, event.to_status,
                       event.reason, event.actor, data))  # fmt: skip
    loads = dict(AgentPresence.objects.values_list("user_id", "load"))
    statuses = dict(Conversation.objects.values_list("id", "status"))
    return {"reservations": reservations, "entries": entries, "events": events,
            "loads": loads, "statuses": statuses}  # fmt: skip


def _run_and_undo(settings, *, server: bool, act) -> dict:
    settings.PARLEY = {**settings.PARLEY, "ROUTING_SERVER_DECISIONS": server}
    last = ConversationEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    out = {}
    try:
        with transaction.atomic():
            out = {"result": act()} | _state(last)
            raise _Undo
    except _Undo:
        pass
    return out


def _summary(decision) -> tuple:
    return (decision.outcome, decision.agent_id, decision.code, decision.reason,
            decision.candidates)  # fmt: skip


def _both_ways_act(settings, act) -> dict:
    """Run ``act`` with the server pick and with the Python pick, on the same floor (each
    rolled back), and require the same result and the same rows written."""
    server = _run_and_undo(settings, server=True, act=act)
    python = _run_and_undo(settings, server=False, act=act)
    assert server == python
    return server


def _both_ways(settings, entry: QueueEntry, now: dt.datetime) -> dict:
    state = _both_ways_act(settings, lambda: _summary(route_entry(entry_id=entry.pk, now=now)))
    state["decision"] = state["result"][:4]
    mine = [e for e in state["events"] if e[0] == entry.conversation_id]
    state["events"] = [e[1:] for e in mine]
    return state


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


def test_the_call_alone_takes_the_slot_and_writes_nothing_else():
    queue = make_queue()
    agent = online_agent(queue, capacity=2)
    AgentPresence.objects.filter(user=agent).update(status="away")
    conversation = waiting(queue)
    entry = entry_of(conversation)
    AgentPresence.objects.filter(user=agent).update(status="online")
    now = timezone.now()
    events = ConversationEvent.objects.count()
    with transaction.atomic():
        result = sql_server.pick_on_server(
            entry_id=entry.pk, now=now, skip_locked=False, candidates=5, **LANGUAGE_OFF
        )
        assert result["outcome"] == "picked" and result["agent"] == agent.pk
        assert result["sticky"] is False and result["sticky_skipped"] is False
        assert [row[1] for row in result["rows"]] == [agent.pk]
        assert AgentPresence.objects.get(user=agent).load == 1  # the slot, nothing else
        assert not Reservation.objects.filter(entry=entry).exists()
        assert ConversationEvent.objects.count() == events
        assert QueueEntry.objects.get(pk=entry.pk).state == "waiting"
        transaction.set_rollback(True)
    assert AgentPresence.objects.get(user=agent).load == 0
    Reservation.objects.create(
        entry=entry, conversation=conversation, queue=queue, agent=agent, state="offered",
        attempt=1, offered_at=now, expires_at=now,
    )  # fmt: skip
    QueueEntry.objects.filter(pk=entry.pk).update(state="offered")
    with transaction.atomic():
        again = sql_server.pick_on_server(
            entry_id=entry.pk, now=now, skip_locked=True, candidates=5, **LANGUAGE_OFF
        )
    assert again == {"outcome": "skipped", "code": "not_waiting:offered"}


def test_a_zone_postgresql_does_not_know_is_left_to_python():
    queue = make_queue(business_hours={"mon": [["00:00", "24:00"]]}, timezone="UTC")
    online_agent(queue)
    AgentPresence.objects.update(status="away")
    conversation = waiting(queue)
    AgentPresence.objects.update(status="online")
    Queue.objects.filter(pk=queue.pk).update(timezone="Nowhere/Atlantis")
    with transaction.atomic():
        result = sql_server.pick_on_server(
            entry_id=entry_of(conversation).pk, now=timezone.now(), skip_locked=False,
            candidates=5, **LANGUAGE_OFF,
        )  # fmt: skip
    assert result["outcome"] == "decide" and result["agent"] is None
    assert result["queue"]["timezone"] == "Nowhere/Atlantis"
    assert AgentPresence.objects.get().load == 0
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


# --- every rule of the pick, both ways ----------------------------------------------------------
def _floor(n: int, *, queue_kw=None, capacity: int = 3, **agent_kw):
    """A queue, ``n`` subscribed agents (away while the conversation arrives, so nothing
    is offered yet) and one waiting conversation; the scenario then sets the floor."""
    queue = make_queue(**(queue_kw or {}))
    agents = [online_agent(queue, capacity=capacity, **agent_kw) for _ in range(n)]
    AgentPresence.objects.update(status="away")
    conversation = waiting(queue)
    AgentPresence.objects.filter(user__in=agents).update(status="online")
    return queue, agents, entry_of(conversation)


def _set(agent, **fields) -> None:
    AgentPresence.objects.filter(user=agent).update(**fields)


def _refused(entry: QueueEntry, agent, *, state: str, ago: float, now: dt.datetime) -> None:
    """The agent declined (or let expire) an earlier offer of this entry ``ago`` s ago."""
    decided = now - dt.timedelta(seconds=ago)
    Reservation.objects.create(
        entry=entry, conversation_id=entry.conversation_id, queue_id=entry.queue_id,
        agent=agent, state=state, attempt=entry.offers + 1, offered_at=decided,
        expires_at=decided, decided_at=decided,
    )  # fmt: skip
    QueueEntry.objects.filter(pk=entry.pk).update(offers=entry.offers + 1)


def _settled(entry: QueueEntry, now: dt.datetime, language: str = "fr") -> None:
    """Detection settled the conversation's language."""
    Conversation.objects.filter(pk=entry.conversation_id).update(
        language=language, language_settled_at=now
    )


def _translation(settings, engine: str) -> None:
    """'fake' works; 'off' does not (nothing configured)."""
    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "TRANSLATION_ENGINE": engine}


def _language_scenario(name: str, now: dt.datetime, settings):
    """The language rules (routing/services/language.py), each both ways."""
    ago = dt.timedelta
    _q, a, entry = _floor(3, languages=["en"])
    for i, agent in enumerate(a):
        _set(agent, idle_since=now - ago(minutes=3 - i))  # a[0] idle longest
    _settled(entry, now)
    speaker = a[2]
    _set(speaker, languages_tag=",en,fr,", load=2)  # last on occupancy
    if name == "language_preferred":
        _translation(settings, "fake")
        return entry, "offered", speaker, "speaks fr, the conversation's language"
    if name == "language_preferred_nobody_free_speaks":
        _translation(settings, "fake")
        _set(speaker, load=3)  # full
        return entry, "offered", a[0], "nobody free speaks fr; translation is on"
    if name == "language_required":
        _translation(settings, "off")
        return entry, "offered", speaker, "speaks fr: required while translation is unavailable"
    if name == "language_required_nobody":
        _translation(settings, "off")
        _set(speaker, languages_tag=",en,")
        return entry, "nobody", "language_required", "no free agent speaks fr"
    if name == "language_relaxed_after_the_wait":
        _translation(settings, "off")
        _set(speaker, languages_tag=",en,")
        QueueEntry.objects.filter(pk=entry.pk).update(enqueued_at=now - ago(seconds=121))
        return entry, "offered", a[0], "has waited over 120 s: anyone may take it"
    if name == "language_relaxed_speaker_first":
        _translation(settings, "off")
        QueueEntry.objects.filter(pk=entry.pk).update(enqueued_at=now - ago(seconds=121))
        return entry, "offered", speaker, "; speaks fr"
    if name == "language_sticky_required":
        _translation(settings, "off")
        QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=a[0].pk)
        return entry, "offered", speaker, "required while translation is unavailable"
    if name == "language_sticky_preferred":
        _translation(settings, "fake")
        QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=a[0].pk)
        return entry, "offered", a[0], "previous agent of this conversation (sticky routing)"
    if name == "language_not_settled":
        _translation(settings, "off")
        Conversation.objects.filter(pk=entry.conversation_id).update(language_settled_at=None)
        return entry, "offered", a[0], "idle longest of 3 eligible agents, 0/3 chats"
    if name == "language_regional_code":
        _translation(settings, "off")
        _settled(entry, now, "FR-ca")
        return entry, "offered", speaker, "speaks fr: required"
    raise AssertionError(name)


LANGUAGE_SCENARIOS = [
    "language_preferred", "language_preferred_nobody_free_speaks", "language_required",
    "language_required_nobody", "language_relaxed_after_the_wait",
    "language_relaxed_speaker_first", "language_sticky_required", "language_sticky_preferred",
    "language_not_settled", "language_regional_code",
]  # fmt: skip


@pytest.mark.parametrize("name", LANGUAGE_SCENARIOS)
def test_every_language_rule_both_ways(settings, name):
    now = timezone.now() + dt.timedelta(seconds=1)
    entry, outcome, expected, phrase = _language_scenario(name, now, settings)
    entry.refresh_from_db()
    state = _both_ways(settings, entry, now)
    got_outcome, agent_id, code, reason = state["decision"]
    assert got_outcome == outcome, state["decision"]
    assert phrase in reason, reason
    decision = [e for e in state["events"] if e[0] == "routing.decision"][-1]
    language = decision[-1]["language"]
    if outcome == "offered":
        assert agent_id == expected.pk, reason
        if name == "language_not_settled" or name == "language_sticky_preferred":
            assert "speaks" not in reason
        assert (language["rule"], language["language"]) in {
            ("none", ""), ("prefer", "fr"), ("require", "fr"), ("relaxed", "fr")
        }  # fmt: skip
    else:
        assert code == expected
        assert language == {"rule": "require", "language": "fr", "speaks": None,
                            "translation": "no translation engine is configured "
                            "(TRANSLATION_ENGINE)", "wait": 120}  # fmt: skip
        assert state["loads"] == dict(AgentPresence.objects.values_list("user_id", "load"))


def _scenario(name: str, now: dt.datetime):
    """Set up one rule's floor; returns (entry, expected outcome, the agent expected (None:
    any) or the code, a phrase of the reason)."""
    ago = dt.timedelta
    if name == "least_occupied":
        _q, a, entry = _floor(3, capacity=4)
        _set(a[0], load=2), _set(a[1], load=1), _set(a[2], load=3)
        return entry, "offered", a[1], "least occupied of 3 eligible"
    if name == "fewer_chats":
        _q, a, entry = _floor(2, capacity=4)
        _set(a[0], load=2), _set(a[1], load=1, capacity=2)  # both 50 %
        return entry, "offered", a[1], "with fewer chats"
    if name == "idle_longest":
        _q, a, entry = _floor(3)
        for i, agent in enumerate(a):
            _set(agent, idle_since=now - ago(minutes=i + 1))
        return entry, "offered", a[2], "idle longest"
    if name == "never_idle_first":
        # Past the first five too: the ranking stops at five, so a NULL ranked last would
        # not even be a candidate.
        _q, a, entry = _floor(6)
        for i, agent in enumerate(a[:5]):
            _set(agent, idle_since=now - ago(minutes=i + 1))
        _set(a[5], idle_since=None)
        return entry, "offered", a[5], "idle longest of 5+"
    if name == "tie_lowest_id":
        _q, a, entry = _floor(3)
        AgentPresence.objects.update(idle_since=now - ago(minutes=5))
        return entry, "offered", a[0], "tied with the next; lowest agent id"
    if name == "only_one":
        _q, a, entry = _floor(1)
        return entry, "offered", a[0], "the only eligible agent, 0/3 chats"
    if name == "five_plus":
        # Ranked by occupancy, then idle time: not the order the agents were made in.
        _q, a, entry = _floor(7)
        for i, agent in enumerate(a):
            _set(agent, idle_since=now - ago(minutes=i + 1), load=max(0, 3 - i) // 2)
        return entry, "offered", a[6], "of 5+ eligible agents"
    if name == "queue_skills":
        _q, a, entry = _floor(2, queue_kw={"required_skills": ["billing"]}, skills=["sales"])
        AgentPresence.objects.filter(user=a[1]).update(skills_tag=",billing,sales,")
        return entry, "offered", a[1], "the only eligible agent"
    if name == "entry_skills":
        _q, a, entry = _floor(3, skills=["billing"])
        QueueEntry.objects.filter(pk=entry.pk).update(skills=["billing", "vip_1%"])
        _set(a[2], skills_tag=",billing,vip_1%,"), _set(a[0], skills_tag=",billing,vipx1x,")
        return entry, "offered", a[2], "the only eligible agent"
    if name == "language":
        _q, a, entry = _floor(3, queue_kw={"language": "fr"}, languages=["en"])
        _set(a[1], languages_tag=",en,fr,")
        return entry, "offered", a[1], "the only eligible agent"
    if name == "no_language_match":
        _q, a, entry = _floor(2, queue_kw={"language": "fr"}, languages=["en"])
        return entry, "nobody", "no_matching_agent", "none with language fr"
    if name == "at_capacity":
        _q, a, entry = _floor(2, capacity=2)
        _set(a[0], load=2), _set(a[1], load=1)
        return entry, "offered", a[1], "the only eligible agent, 1/2 chats"
    if name == "all_at_capacity":
        _q, a, entry = _floor(2, capacity=1)
        AgentPresence.objects.update(load=1)
        return entry, "nobody", "all_at_capacity", "at capacity"
    if name == "away_and_offline":
        _q, a, entry = _floor(3)
        _set(a[0], status="away"), _set(a[1], status="offline")
        return entry, "offered", a[2], "the only eligible agent"
    if name == "heartbeat_lost":
        _q, a, entry = _floor(2)
        _set(a[0], live_until=now), _set(a[1], live_until=now + ago(seconds=1))
        return entry, "offered", a[1], "the only eligible agent"
    if name == "no_live_console":
        _q, a, entry = _floor(2)
        AgentPresence.objects.update(live_until=now - ago(seconds=1))
        return entry, "nobody", "no_live_console", "no console heartbeat"
    if name == "not_a_member":
        _q, a, entry = _floor(2)
        other = make_queue()
        a[0].agent_profile.queues.set([other])
        return entry, "offered", a[1], "the only eligible agent"
    if name == "declined_recently":
        _q, a, entry = _floor(2)
        _set(a[1], load=1)  # would lose to a[0] on occupancy
        _refused(entry, a[0], state="declined", ago=10, now=now)
        return entry, "offered", a[1], "the only eligible agent"
    if name == "expired_long_ago":
        _q, a, entry = _floor(2)
        _set(a[1], load=1)
        _refused(entry, a[0], state="expired", ago=3600, now=now)  # past the retry window
        return entry, "offered", a[0], "least occupied"
    if name == "handed_over":
        _q, a, entry = _floor(2)
        _set(a[1], load=1)
        QueueEntry.objects.filter(pk=entry.pk).update(excluded_agent_id=a[0].pk)
        return entry, "offered", a[1], "the only eligible agent"
    if name == "everyone_declined":
        _q, a, entry = _floor(2)
        for agent in a:
            _refused(entry, agent, state="declined", ago=5, now=now)
            entry.refresh_from_db()
        return entry, "nobody", "excluded", "declined or missed it recently"
    if name == "sticky":
        _q, a, entry = _floor(3)
        _set(a[2], load=2)  # last on occupancy
        QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=a[2].pk)
        return entry, "offered", a[2], "previous agent of this conversation (sticky routing)"
    if name == "sticky_full":
        _q, a, entry = _floor(3)
        _set(a[2], load=3), _set(a[0], load=1)
        QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=a[2].pk)
        return entry, "offered", a[1], "least occupied of 2"
    if name == "sticky_declined":
        _q, a, entry = _floor(2)
        QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=a[0].pk)
        _refused(entry, a[0], state="declined", ago=5, now=now)
        return entry, "offered", a[1], "the only eligible agent"
    if name == "sticky_only_and_away":
        _q, a, entry = _floor(1)
        _set(a[0], status="away")
        QueueEntry.objects.filter(pk=entry.pk).update(sticky_agent_id=a[0].pk)
        return entry, "nobody", "no_agent_online", "none of the 1 agents"
    if name == "closed":
        tomorrow = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 1) % 7]
        _q, a, entry = _floor(1, queue_kw={"business_hours": {tomorrow: [["00:00", "24:00"]]}})
        return entry, "nobody", "queue_closed", "outside its business hours"
    if name == "closed_by_supervisor":  # the floor's Close: a new arrival, an agent free
        _q, a, entry = _floor(1, queue_kw={"limit_mode": "fixed", "max_waiting": 0})
        # As if it arrived now, with its agent free (the floor routed it with them away).
        QueueEntry.objects.filter(pk=entry.pk).update(
            last_routed_at=None, mode="live", mode_reason=""
        )
        return entry, "nobody", "closed_to_new", "closed to new chats by a supervisor"
    if name == "closed_by_supervisor_kept_offline":  # arrived while closed: held until it opens
        _q, a, entry = _floor(1, queue_kw={"limit_mode": "fixed", "max_waiting": 0})
        # Its first decision kept it as an offline message; a sweep routes it again.
        QueueEntry.objects.filter(pk=entry.pk).update(
            last_routed_at=now - dt.timedelta(seconds=3), mode="offline", mode_reason="closed",
            last_nobody_reason="closed_to_new",
        )  # fmt: skip
        return entry, "nobody", "closed_to_new", "closed to new chats by a supervisor"
    if name == "kept_offline_then_opened":  # the same entry once the queue opens: served
        _q, a, entry = _floor(1)
        QueueEntry.objects.filter(pk=entry.pk).update(
            last_routed_at=now - dt.timedelta(seconds=3), mode="offline", mode_reason="closed",
            last_nobody_reason="closed_to_new",
        )  # fmt: skip
        return entry, "offered", a[0], "the only eligible agent"
    if name == "closed_by_supervisor_offline_before":  # offline for another reason before it
        _q, a, entry = _floor(1, queue_kw={"limit_mode": "fixed", "max_waiting": 0})
        QueueEntry.objects.filter(pk=entry.pk).update(
            last_routed_at=now - dt.timedelta(seconds=30), mode="offline",
            mode_reason="no_agents",
        )  # fmt: skip
        return entry, "offered", a[0], "the only eligible agent"
    if name == "closed_by_supervisor_already_waiting":  # waiting before it closed: served
        _q, a, entry = _floor(1, queue_kw={"limit_mode": "fixed", "max_waiting": 0})
        QueueEntry.objects.filter(pk=entry.pk).update(
            last_routed_at=now - dt.timedelta(seconds=30), mode="live", mode_reason=""
        )
        return entry, "offered", a[0], "the only eligible agent"
    if name == "closed_by_supervisor_returning":  # back in line after being served: served
        _q, a, entry = _floor(1, queue_kw={"limit_mode": "fixed", "max_waiting": 0})
        QueueEntry.objects.filter(pk=entry.pk).update(
            last_routed_at=None, mode="live", mode_reason="", returning=True
        )
        return entry, "offered", a[0], "the only eligible agent"
    if name == "open_hours_elsewhere":
        local = now.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
        hours = {day: [["00:00", "24:00"]]}
        _q, a, entry = _floor(1, queue_kw={"business_hours": hours, "timezone": "Asia/Kolkata"})
        return entry, "offered", a[0], "the only eligible agent"
    if name == "not_waiting":
        _q, a, entry = _floor(1)
        Conversation.objects.filter(pk=entry.conversation_id).update(status="resolved")
        return entry, "skipped", "not_waiting:waiting", None
    raise AssertionError(name)


SCENARIOS = [
    "least_occupied", "fewer_chats", "idle_longest", "never_idle_first", "tie_lowest_id",
    "only_one", "five_plus", "queue_skills", "entry_skills", "language", "no_language_match",
    "at_capacity", "all_at_capacity", "away_and_offline", "heartbeat_lost", "no_live_console",
    "not_a_member", "declined_recently", "expired_long_ago", "handed_over",
    "everyone_declined", "sticky", "sticky_full", "sticky_declined", "sticky_only_and_away",
    "closed", "closed_by_supervisor", "closed_by_supervisor_already_waiting",
    "closed_by_supervisor_returning",
    "closed_by_supervisor_kept_offline", "kept_offline_then_opened",
    "closed_by_supervisor_offline_before",
    "open_hours_elsewhere", "not_waiting",
]  # fmt: skip


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_rule_of_the_pick_both_ways(settings, name):
    now = timezone.now() + dt.timedelta(seconds=1)
    entry, outcome, expected, phrase = _scenario(name, now)
    entry.refresh_from_db()
    state = _both_ways(settings, entry, now)
    got_outcome, agent_id, code, reason = state["decision"]
    assert got_outcome == outcome, state["decision"]
    if outcome == "offered":
        if expected is not None:
            assert agent_id == expected.pk, reason
        assert phrase in reason
        (offered,) = [r for r in state["reservations"] if r["state"] == "offered"]
        assert offered["agent_id"] == agent_id
        assert state["loads"][agent_id] == AgentPresence.objects.get(user_id=agent_id).load + 1
    elif outcome == "nobody":
        assert code == expected and phrase in reason, reason
        assert state["loads"] == dict(AgentPresence.objects.values_list("user_id", "load"))
    else:
        assert code == expected and state["events"] == []


def test_a_slot_held_by_a_parallel_router_goes_to_the_next_both_ways(settings):
    """The best agent's presence row is locked by another transaction (a parallel router
    taking their last slot): both picks skip it (SKIP LOCKED), take the next one and say
    what they tried."""
    _q, a, entry = _floor(3)
    _set(a[1], load=1), _set(a[2], load=2)
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
        dbname=db["NAME"], autocommit=False,
    )  # fmt: skip
    try:
        other.execute("SELECT 1 FROM agents_agentpresence WHERE user_id = %s FOR UPDATE",
                      [a[0].pk])  # fmt: skip
        state = _both_ways(settings, entry, timezone.now())
    finally:
        other.rollback()
        other.close()
    assert state["decision"][1] == a[1].pk
    tried = state["events"][-1][5]["tried"]
    assert [(t["agent"], t["skipped"]) for t in tried] == [
        (a[0].pk, "slot taken by a parallel decision")
    ]


def test_waiting_conversations_are_served_in_the_same_order_both_ways(settings):
    """Priority, then urgency (the SLA due time), then arrival: the agent who gains a slot
    is offered the same conversation either way."""
    fast, slow = make_queue(sla_seconds=30), make_queue(sla_seconds=600)
    agent = online_agent([fast, slow], capacity=1)
    _set(agent, status="away")
    people = [waiting(slow), waiting(fast), waiting(slow), waiting(fast)]
    entries = [entry_of(c) for c in people]
    QueueEntry.objects.filter(pk=entries[2].pk).update(priority=5)
    _set(agent, status="online")
    now = timezone.now()
    order = []
    for _ in range(len(people)):
        state = _both_ways_act(settings, lambda: route_for_agent(user_id=agent.pk, now=now))
        assert state["result"] == 1
        (offered,) = [r for r in state["reservations"] if r["state"] == "offered"]
        order.append(offered["entry_id"])
        QueueEntry.objects.filter(pk=offered["entry_id"]).update(state="cancelled")
        Conversation.objects.filter(
            pk=QueueEntry.objects.get(pk=offered["entry_id"]).conversation_id
        ).update(status="resolved")
    # The VIP, then the fast queue's two by arrival, then the slow queue's first.
    assert order == [entries[2].pk, entries[1].pk, entries[3].pk, entries[0].pk]


def test_the_installed_function_is_this_files(settings):
    """post_migrate installed the file's SQL in the test database (pytest-django runs
    migrate), so every test here runs the file, not an older copy; the command checks
    and repairs it, and a missing function says how to install it."""
    assert dbfunctions.is_current()
    call_command("install_routing_sql", "--check", stdout=io.StringIO())
    queue = make_queue()
    conversation = waiting(queue)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION {dbfunctions.PICK}")
        with pytest.raises(CommandError, match="missing"):
            call_command("install_routing_sql", "--check", stdout=io.StringIO())
        with pytest.raises(ImproperlyConfigured, match="install_routing_sql"):
            route_entry(entry_id=entry_of(conversation).pk)
    finally:  # this test commits: never leave the database without the function
        call_command("install_routing_sql", stdout=io.StringIO())
    assert dbfunctions.is_current()
    assert not dbfunctions.install()  # current: nothing to do
    # The connection had the call prepared before the drop: it works on the new function.
    agent = online_agent(queue, connect=False)
    console(agent)  # an agent with a free slot: the router finds them the conversation
    assert open_offer(conversation).agent_id == agent.pk
    assert route_entry(entry_id=entry_of(conversation).pk).code == "not_waiting:offered"
