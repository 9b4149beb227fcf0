"""The router: eligibility, choice, order, stickiness, decisions on the timeline, limits,
business hours, positions and ETAs. Real commits (transactional tests), so the router runs
after the caller's commit exactly as in production."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from agents.models import AgentPresence
from chat.exceptions import PermissionDenied, ValidationError
from chat.models import Conversation
from routing import selectors
from routing.models import Queue, QueueEntry, Reservation
from routing.services import (
    conversation_enqueue,
    default_queue,
    reservation_accept,
    route_entry,
    route_for_agent,
    routing_sweep,
    waiting_sweep,
)
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

from .conftest import (
    console,
    decisions,
    entry_of,
    heartbeat,
    later,
    make_queue,
    online_agent,
    open_offer,
    presence,
    set_status,
    waiting,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["server", "python"])
def decision_path(request, settings):
    """Every rule both ways on PostgreSQL: the pick as one call of parley_route_pick,
    and the Python pick it mirrors (which SQLite always runs)."""
    settings.PARLEY = {**settings.PARLEY, "ROUTING_SERVER_DECISIONS": request.param == "server"}
    return request.param


def accept(user, conversation) -> Conversation:
    return reservation_accept(actor=agent_actor(user), reservation_id=open_offer(conversation).pk)


# --- enqueue --------------------------------------------------------------------------------
def test_enqueue_uses_the_site_queue_or_general_and_records_why_nobody():
    queue = make_queue()
    conversation = waiting(queue)
    assert conversation.status == "queued" and conversation.queue == queue
    entry = entry_of(conversation)
    assert entry.state == "waiting" and entry.sla_due_at == entry.enqueued_at + dt.timedelta(
        seconds=queue.sla_seconds
    )
    (decision,) = decisions(conversation)
    assert decision.data["outcome"] == "waiting" and decision.data["code"] == "no_agent_subscribed"
    assert decision.reason.startswith("no offer: no agent is subscribed")

    site = make_site()
    site.default_queue = None
    site.save()
    conversation, _ = conversation_actions.conversation_start(
        actor=customer_actor(make_customer(site=site))
    )
    assert conversation.queue == default_queue() == Queue.objects.get(name="General")


def test_enqueue_contract_signature_queue_priority_skills(django_capture_on_commit_callbacks):
    from django.db import transaction

    billing = make_queue(required_skills=["billing"])
    agent = online_agent(billing, skills=["billing", "vip"])
    customer = make_customer()
    conversation = Conversation.objects.create(site=customer.site, customer=customer, status="bot")
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        result = conversation_enqueue(
            conversation=locked, reason="bot handoff", queue=billing, priority=5, skills=["VIP"]
        )
        assert result is locked and locked.status == "queued"
        assert not Reservation.objects.exists()  # the router waits for the commit
    entry = entry_of(conversation)
    assert (entry.priority, entry.skills, entry.queue) == (5, ["billing", "vip"], billing)
    assert open_offer(conversation).agent == agent


@pytest.mark.parametrize(
    "kw, field",
    [({"skills": "billing"}, "skills"), ({"skills": [""]}, "skills"), ({"priority": "high"}, "priority"),
     ({"priority": True}, "priority"), ({"priority": 1000}, "priority")],
)  # fmt: skip
def test_enqueue_rejects_bad_input(kw, field):
    from django.db import transaction

    customer = make_customer()
    conversation = Conversation.objects.create(site=customer.site, customer=customer, status="bot")
    with pytest.raises(ValidationError) as exc, transaction.atomic():
        conversation_enqueue(conversation=conversation, reason="x", **kw)
    assert exc.value.field == field
    assert not QueueEntry.objects.exists()


# --- eligibility ----------------------------------------------------------------------------
def test_offer_goes_to_an_eligible_agent_with_the_reason():
    queue = make_queue()
    agent = online_agent(queue)
    conversation = waiting(queue)
    assert conversation.status == "offered"
    offer = open_offer(conversation)
    assert offer.agent == agent and offer.attempt == 1
    assert offer.expires_at == offer.offered_at + dt.timedelta(seconds=queue.offer_timeout_seconds)
    (decision,) = decisions(conversation)
    assert decision.data["outcome"] == "offered" and decision.data["agent"] == agent.pk
    assert decision.data["candidates"][0]["agent"] == agent.pk
    assert "the only eligible agent" in decision.reason
    assert presence(agent).load == 1  # the offer reserves a slot


@pytest.mark.parametrize(
    "setup, code",
    [
        ("unsubscribed", "no_agent_subscribed"),
        ("offline", "no_agent_online"),
        ("away", "no_agent_online"),
        ("silent", "no_live_console"),
        ("no_skill", "no_matching_agent"),
        ("wrong_language", "no_matching_agent"),
        ("full", "all_at_capacity"),
    ],
)
def test_ineligible_agents_are_not_offered_and_the_timeline_says_why(setup, code):
    queue = make_queue(required_skills=["billing"], language="fr")
    other = make_queue()
    kw = {"skills": ["billing"], "languages": ["fr"], "capacity": 1}
    if setup == "unsubscribed":
        agent = online_agent(other, **kw)
    elif setup == "no_skill":
        agent = online_agent(queue, skills=["sales"], languages=["fr"])
    elif setup == "wrong_language":
        agent = online_agent(queue, skills=["billing"], languages=["en"])
    else:
        agent = online_agent(queue, **kw)
    if setup in ("offline", "away"):
        set_status(agent, setup)
    if setup == "silent":
        AgentPresence.objects.filter(user=agent).update(live_until=timezone.now())
    if setup == "full":
        waiting(other)  # nothing to do with it
        AgentPresence.objects.filter(user=agent).update(load=1)
    conversation = waiting(queue)
    assert conversation.status == "queued" and open_offer(conversation) is None
    (decision,) = decisions(conversation)
    assert decision.data["code"] == code, decision.reason


def test_heartbeats_keep_an_agent_eligible_and_their_absence_does_not():
    from agents.models import AgentProfile

    queue = make_queue()
    t0 = timezone.now()
    agent = online_agent(make_queue(), now=t0)  # live, but not serving `queue` yet
    first, second, third = waiting(queue), waiting(queue), waiting(queue)
    AgentProfile.objects.get(user=agent).queues.add(queue)
    timeout = 60  # AGENT_HEARTBEAT_TIMEOUT
    assert route_entry(entry_id=entry_of(first).pk, now=later(timeout - 1, t0)).outcome == "offered"
    decision = route_entry(entry_id=entry_of(second).pk, now=later(timeout, t0))
    assert (decision.outcome, decision.code) == ("nobody", "no_live_console")
    heartbeat(agent, now=later(50, t0))  # carries the console to +110 s
    assert route_entry(entry_id=entry_of(second).pk, now=later(100, t0)).outcome == "offered"
    decision = route_entry(entry_id=entry_of(third).pk, now=later(110, t0))
    assert (decision.outcome, decision.code) == ("nobody", "no_live_console")


# --- choice ---------------------------------------------------------------------------------
def test_least_occupied_wins_then_idle_longest():
    queue = make_queue()
    busy = online_agent(queue, capacity=4)
    half = online_agent(queue, capacity=2)
    AgentPresence.objects.filter(user=busy).update(load=1)  # 25 %
    AgentPresence.objects.filter(user=half).update(load=1)  # 50 %
    conversation = waiting(queue)
    assert open_offer(conversation).agent == busy
    assert "least occupied" in decisions(conversation)[-1].reason

    idle_long = online_agent(queue)
    idle_short = online_agent(queue)
    now = timezone.now()
    AgentPresence.objects.filter(user=idle_long).update(idle_since=now - dt.timedelta(hours=1))
    AgentPresence.objects.filter(user=idle_short).update(idle_since=now - dt.timedelta(minutes=1))
    conversation = waiting(queue)
    assert open_offer(conversation).agent == idle_long
    decision = decisions(conversation)[-1]
    assert "idle longest" in decision.reason
    assert [c["agent"] for c in decision.data["candidates"]][:2] == [idle_long.pk, idle_short.pk]
    assert decision.data["eligible"] == 4 and decision.data["eligible_at_least"] is False
    assert "of 4 eligible agents" in decision.reason


@pytest.mark.parametrize("prepared", [True, False])
def test_a_large_floor_ranks_the_best_five_members_and_says_5_plus(settings, prepared):
    """The ranking walks the index of free online agents and stops at the queue's first
    five members: non-members, busy and away agents ranked before them are skipped, and the
    timeline says "5+" rather than counting everyone. Both with statements prepared on the
    server and without (behind a pooler that cannot keep them)."""
    settings.PARLEY = {**settings.PARLEY, "ROUTING_PREPARED_STATEMENTS": prepared}
    queue, other = make_queue(), make_queue()
    now = timezone.now()
    members = []
    for i in range(8):
        agent = online_agent(queue, capacity=4)
        AgentPresence.objects.filter(user=agent).update(
            load=1, idle_since=now - dt.timedelta(minutes=10 + i)
        )
        members.append(agent)
    for _ in range(6):  # idle, emptier, but another queue's: ranked first, never offered
        online_agent(other, capacity=4)
    full = online_agent(queue, capacity=1)
    AgentPresence.objects.filter(user=full).update(load=1)
    away = online_agent(queue, capacity=4)
    set_status(away, "away")
    conversation = waiting(queue)
    decision = decisions(conversation)[-1]
    ranked = [c["agent"] for c in decision.data["candidates"]]
    # Same occupancy: idle longest first (the last created waited longest).
    assert ranked == [a.pk for a in reversed(members)][:5]
    assert open_offer(conversation).agent == members[-1]
    assert decision.data["eligible"] == 5 and decision.data["eligible_at_least"] is True
    assert "of 5+ eligible agents" in decision.reason


def test_waiting_conversations_are_served_by_priority_then_urgency_then_arrival():
    fast = make_queue(sla_seconds=30)
    slow = make_queue(sla_seconds=600)
    t0 = timezone.now()
    late_slow = waiting(slow)  # arrives first, but its SLA is far away
    urgent = waiting(fast)
    vip = waiting(slow)
    QueueEntry.objects.filter(conversation=vip).update(priority=5)
    QueueEntry.objects.filter(conversation=late_slow).update(
        enqueued_at=t0, sla_due_at=t0 + dt.timedelta(seconds=600)
    )
    agent = online_agent([fast, slow], capacity=1, connect=False)
    console(agent)  # gaining capacity runs the router for the agent: the VIP first
    assert open_offer(vip).agent == agent
    accept(agent, vip)
    conversation_actions.conversation_resolve(actor=agent_actor(agent), conversation_id=vip.pk)
    assert open_offer(urgent).agent == agent  # then the earliest SLA breach
    accept(agent, urgent)
    conversation_actions.conversation_resolve(actor=agent_actor(agent), conversation_id=urgent.pk)
    assert open_offer(late_slow).agent == agent


def test_same_priority_and_sla_go_by_arrival():
    queue = make_queue()
    first, second = waiting(queue), waiting(queue)
    agent = online_agent(queue, capacity=1)
    assert open_offer(first).agent == agent and open_offer(second) is None


# --- sticky routing --------------------------------------------------------------------------
def _resolved_with(agent, queue):
    conversation = waiting(queue)
    accept(agent, conversation)
    conversation_actions.conversation_resolve(
        actor=agent_actor(agent), conversation_id=conversation.pk
    )
    return conversation


def _reopen(conversation):
    conversation_actions.message_send(
        actor=customer_actor(conversation.customer),
        conversation_id=conversation.pk,
        body="one more thing",
        client_msg_id=f"again-{conversation.pk}",
    )


def test_a_reopened_conversation_goes_first_to_its_previous_agent():
    queue = make_queue()
    previous = online_agent(queue, capacity=1)
    conversation = _resolved_with(previous, queue)
    fresher = online_agent(queue)  # would win on idle time
    AgentPresence.objects.filter(user=fresher).update(
        idle_since=timezone.now() - dt.timedelta(days=1)
    )
    _reopen(conversation)
    offer = open_offer(conversation)
    assert offer.agent == previous and offer.sticky
    assert "sticky" in decisions(conversation)[-1].reason


def test_sticky_only_within_the_window_and_only_if_eligible(settings):
    settings.PARLEY = {**settings.PARLEY, "ROUTING_STICKY_WINDOW": 60}
    queue = make_queue()
    previous = online_agent(queue, capacity=2)
    conversation = _resolved_with(previous, queue)
    QueueEntry.objects.filter(conversation=conversation).update(
        closed_at=timezone.now() - dt.timedelta(seconds=120)
    )
    other = online_agent(queue)
    AgentPresence.objects.filter(user=previous).update(
        idle_since=timezone.now() - dt.timedelta(days=1)
    )
    _reopen(conversation)
    assert not open_offer(conversation).sticky  # out of the window: the normal choice

    again = _resolved_with(other, queue)
    set_status(other, "away")
    _reopen(again)
    offer = open_offer(again)
    assert offer.agent == previous and not offer.sticky  # sticky agent away: next best
    assert any(
        t.get("skipped") == "sticky agent not eligible now"
        for t in decisions(again)[-1].data["tried"]
    )


# --- limits, business hours, the offline fallback -----------------------------------------------
def test_fixed_limit_sends_the_overflow_to_offline_messages():
    queue = make_queue(limit_mode="fixed", max_waiting=2)
    a, b, c = waiting(queue), waiting(queue), waiting(queue)
    modes = [entry_of(x).mode for x in (a, b, c)]
    assert modes == ["live", "live", "offline"]
    entry = entry_of(c)
    assert entry.mode_reason == "over_limit"
    assert "limit 2" in decisions(c)[-1].reason
    frame = selectors.queue_position_for_conversation(conversation_id=c.pk, now=timezone.now())
    assert frame["mode"] == "offline" and "Leave your message" in frame["message"]


def test_dynamic_limit_follows_littles_law(settings):
    settings.PARLEY = {**settings.PARLEY, "ROUTING_DEFAULT_HANDLE_TIME": 60}
    queue = make_queue(limit_mode="dynamic", sla_seconds=60)
    # Nobody online: the serving rate is 0, so the limit is 0: leave a message at once.
    alone = waiting(queue)
    assert (entry_of(alone).mode, entry_of(alone).mode_reason) == ("offline", "no_agents")
    # Two agents of capacity 1 with a 60 s handle time serve 2/60 per s; x 60 s SLA = 2.
    agents = [online_agent(queue, capacity=1) for _ in range(2)]
    assert selectors.waiting_limit(queue=queue, now=timezone.now()) == 2
    served = [waiting(queue) for _ in range(1)]  # the other agent takes the offline one
    assert {open_offer(c).agent for c in [alone, *served]} == set(agents)
    live = [waiting(queue) for _ in range(2)]
    over = waiting(queue)
    assert [entry_of(c).mode for c in live] == ["live", "live"]
    assert (entry_of(over).mode, entry_of(over).mode_reason) == ("offline", "over_limit")


def test_a_queue_closed_on_the_floor_takes_no_new_live_chat_but_serves_those_waiting():
    from routing.services.supervise import queue_close

    queue = make_queue()
    agent = online_agent(queue, capacity=1)
    AgentPresence.objects.filter(user=agent).update(load=1)  # busy: the next one waits
    before = waiting(queue)  # waiting, live, when the supervisor closes the queue
    assert entry_of(before).mode == "live"
    boss = make_agent()
    boss.is_superuser = True
    boss.save()
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    AgentPresence.objects.filter(user=agent).update(load=0)  # the agent is free again
    # A new arrival, with the agent free: the offline fallback, not an offer.
    after = waiting(queue)
    assert (entry_of(after).mode, entry_of(after).mode_reason) == ("offline", "closed")
    assert open_offer(after) is None
    queue.refresh_from_db()
    assert selectors.handoff_outlook(queue=queue, skills=[], now=timezone.now()) == "closed"
    # The one who was waiting is offered to the agent.
    routing_sweep(now=later(30))
    assert open_offer(before) is not None and entry_of(before).mode == "live"
    # Opened again: back to the limit it had before the close (make_queue: none).
    queue_close(actor=agent_actor(boss), queue_id=queue.pk, closed=False)
    queue.refresh_from_db()
    assert not queue.closed_to_new and queue.limit_mode == Queue.LimitMode.NONE


def test_a_customer_who_arrived_while_the_queue_was_closed_waits_until_it_opens():
    """The walkthrough: the queue closed on the floor, a customer arrives and is kept as an
    offline message ("answered when the queue opens"); 2.8 s later the sweep offered it to
    Carol, free, with the queue still closed. It waits, whatever routes it, until the queue
    opens; then it is offered like any other."""
    from routing.services.supervise import queue_close

    queue = make_queue()
    boss = make_agent()
    boss.is_superuser = True
    boss.save()
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    t0 = timezone.now()
    carol = online_agent(queue, capacity=3, now=t0)  # online, a live console, free
    conversation = waiting(queue)
    entry = entry_of(conversation)
    assert (entry.mode, entry.mode_reason, entry.state) == ("offline", "closed", "waiting")
    for seconds in (2.8, 5, 8, 13, 21):
        heartbeat(carol, now=later(seconds, t0))
        routing_sweep(now=later(seconds, t0))
        route_for_agent(user_id=carol.pk, now=later(seconds, t0))  # she has free slots
        assert open_offer(conversation) is None, f"offered at {seconds} s, the queue closed"
    entry = entry_of(conversation)
    assert (entry.mode, entry.mode_reason, entry.state) == ("offline", "closed", "waiting")
    assert presence(carol).load == 0
    # Said once on the timeline, not again on every sweep.
    assert [d.data["code"] for d in decisions(conversation)] == ["closed_to_new"]
    # Opened again: routed normally (an offline message, after the live ones).
    queue_close(actor=agent_actor(boss), queue_id=queue.pk, closed=False)
    heartbeat(carol, now=later(30, t0))
    routing_sweep(now=later(30, t0))
    assert open_offer(conversation).agent == carol


def test_a_closed_queue_still_serves_those_waiting_before_ahead_of_those_held():
    """Held entries are about themselves, not their queue: the sweep goes on past one to
    an offline message left before the close (served, as the floor says)."""
    from routing.services.supervise import queue_close

    queue = make_queue(limit_mode=Queue.LimitMode.DYNAMIC)
    t0 = timezone.now()
    agent = online_agent(queue, capacity=10, now=t0)
    AgentPresence.objects.filter(user=agent).update(load=10)  # busy: the customer waits
    before = waiting(queue)
    AgentPresence.objects.filter(user=agent).update(status="offline")  # the last one leaves
    routing_sweep(now=later(5, t0))
    assert (entry_of(before).mode, entry_of(before).mode_reason) == ("offline", "no_agents")
    boss = make_agent()
    boss.is_superuser = True
    boss.save()
    queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    held = waiting(queue)
    assert (entry_of(held).mode, entry_of(held).mode_reason) == ("offline", "closed")
    # The held one first in the sweep's order.
    QueueEntry.objects.filter(pk=entry_of(held).pk).update(priority=5)
    AgentPresence.objects.filter(user=agent).update(
        status="online", load=0, live_until=later(120, t0)
    )
    routing_sweep(now=later(10, t0))
    assert open_offer(before).agent == agent
    assert open_offer(held) is None


@pytest.mark.parametrize("admission", ["closed", "limit"])
def test_a_chat_sent_back_to_a_closed_or_full_queue_mid_service_stays_live(admission):
    """Close and the waiting limit admit new chats. A customer whose chat was being served
    when it went back to the queue (its agent's console went silent, a supervisor sent it
    back, it was passed on) was admitted then: it waits live and is offered to the next
    agent, never told to leave a message."""
    from routing.services.supervise import conversation_requeue, queue_close

    queue = make_queue(limit_mode=Queue.LimitMode.FIXED, max_waiting=1)
    t0 = timezone.now()
    first = online_agent(queue, capacity=1, now=t0)
    served = waiting(queue)
    accept(first, served)
    boss = make_agent()
    boss.is_superuser = True
    boss.save()
    if admission == "closed":
        queue_close(actor=agent_actor(boss), queue_id=queue.pk)
    else:
        waiting(queue)  # the one live place in line is taken
    set_status(first, "away")  # nobody takes the one in line meanwhile
    conversation_requeue(actor=agent_actor(boss), conversation_id=served.pk)
    entry = entry_of(served)
    assert (entry.returning, entry.mode, entry.state) == (True, "live", "waiting")
    codes = [d.data.get("code") for d in decisions(served)]
    assert "closed_to_new" not in codes
    # A new arrival now is refused a live wait, as before.
    newcomer = waiting(queue)
    assert entry_of(newcomer).mode == "offline"
    second = online_agent(queue, capacity=3, now=later(1, t0))
    routing_sweep(now=later(2, t0))
    assert open_offer(served).agent == second
    assert entry_of(served).mode == "live"


def test_a_customer_waiting_when_the_last_agent_leaves_is_offered_to_leave_a_message():
    queue = make_queue(limit_mode=Queue.LimitMode.DYNAMIC)  # the default of a real queue
    agent = online_agent(queue, capacity=10)
    AgentPresence.objects.filter(user=agent).update(load=10)  # busy: the customer waits
    conversation = waiting(queue)
    assert entry_of(conversation).mode == "live"
    AgentPresence.objects.filter(user=agent).update(status="offline")  # the last one leaves
    routing_sweep(now=later(30))
    entry = entry_of(conversation)
    assert (entry.mode, entry.mode_reason, entry.state) == ("offline", "no_agents", "waiting")
    frame = selectors.queue_position_for_conversation(
        conversation_id=conversation.pk, now=timezone.now()
    )
    assert frame["mode"] == "offline" and "Leave your message" in frame["message"]
    # Someone comes back: the conversation is still offered (after the live ones).
    AgentPresence.objects.filter(user=agent).update(status="online", load=0, live_until=later(120))
    routing_sweep(now=later(60))
    assert open_offer(conversation) is not None


def test_outside_business_hours_the_conversation_becomes_an_offline_message():
    now = timezone.now()
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()]
    closed_now = (
        {day: [["00:00", "00:01"]]} if now.hour or now.minute > 1 else {day: [["23:58", "23:59"]]}
    )
    queue = make_queue(business_hours=closed_now, timezone="UTC")
    agent = online_agent(queue)
    conversation = waiting(queue)
    entry = entry_of(conversation)
    assert (entry.mode, entry.mode_reason, entry.state) == ("offline", "closed", "waiting")
    assert (
        open_offer(conversation) is None
        and decisions(conversation)[-1].data["code"] == "queue_closed"
    )
    frame = selectors.queue_position_for_conversation(conversation_id=conversation.pk, now=now)
    assert frame["open"] is False and frame["opens_at"] and "closed" in frame["message"]
    # When the queue opens, the offline message is routed like any other (after live ones).
    Queue.objects.filter(pk=queue.pk).update(business_hours={})
    routing_sweep(now=later(5))
    assert open_offer(conversation).agent == agent


def test_business_hours_and_time_zone():
    queue = Queue(business_hours={"mon": [["09:00", "17:00"]]}, timezone="Europe/Paris")
    monday_9_paris = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris (CET)
    assert queue.is_open(monday_9_paris)
    assert not queue.is_open(monday_9_paris - dt.timedelta(minutes=1))
    assert queue.next_opening(monday_9_paris - dt.timedelta(hours=1)) == monday_9_paris
    assert queue.next_opening(
        monday_9_paris + dt.timedelta(hours=9)
    ) == monday_9_paris + dt.timedelta(days=7)
    assert Queue(business_hours={}).is_open(monday_9_paris)


@pytest.mark.parametrize(
    "hours",
    [
        [],
        {"funday": []},
        {"mon": [["9:00", "17:00"]]},
        {"mon": [["17:00", "09:00"]]},
        {"mon": "all"},
    ],
)
def test_bad_business_hours_are_refused(hours):
    from django.core.exceptions import ValidationError as DjangoValidationError

    with pytest.raises(DjangoValidationError):
        Queue(name="x", business_hours=hours, timezone="Mars/Olympus").full_clean()


# --- positions and ETA ----------------------------------------------------------------------------
def test_positions_and_eta_from_the_recent_service_rate():
    queue = make_queue()
    now = timezone.now()
    people = [waiting(queue) for _ in range(3)]
    frames = [
        selectors.queue_position_for_conversation(conversation_id=c.pk, now=now) for c in people
    ]
    assert [f["position"] for f in frames] == [1, 2, 3]
    assert all(f["eta_seconds"] is None for f in frames)  # nobody serves it: no estimate
    # Ten chats assigned over the last 100 s: 0.1 per second, so #3 waits about 30 s.
    customer = make_customer()
    for i in range(10):
        done = Conversation.objects.create(site=customer.site, customer=customer, status="resolved")
        QueueEntry.objects.create(
            conversation=done, queue=queue, state="assigned", enqueued_at=now - dt.timedelta(seconds=200),
            sla_due_at=now, assigned_at=now - dt.timedelta(seconds=100 - 10 * i),
        )  # fmt: skip
    selectors.stats_cache_clear()
    assert selectors.service_rate(queue=queue, now=now) == pytest.approx(0.1)
    frame = selectors.queue_position_for_conversation(conversation_id=people[2].pk, now=now)
    assert frame["position"] == 3 and frame["eta_seconds"] == 30
    assert "number 3" in frame["message"]


def test_a_customers_positions_on_connect_match_each_conversations_own():
    """queue_positions_for_customer reads the customer's open entries in one compiled
    statement: the frames are those of queue_position_for_conversation, theirs only."""
    queue = make_queue()
    now = timezone.now()
    ahead = [waiting(queue) for _ in range(2)]
    mine = waiting(queue)
    second = Conversation.objects.create(site=mine.site, customer=mine.customer, status="queued")
    QueueEntry.objects.create(
        conversation=second, queue=make_queue(), state="waiting", enqueued_at=now, sla_due_at=now
    )
    actor = customer_actor(mine.customer)
    frames = selectors.queue_positions_for_customer(actor=actor, now=now)
    expected = [
        selectors.queue_position_for_conversation(conversation_id=c.pk, now=now)
        for c in (mine, second)
    ]
    assert frames == expected and len(frames) == 2
    assert frames[0]["position"] == 3 and frames[1]["position"] == 1
    assert selectors.queue_positions_for_customer(
        actor=customer_actor(ahead[0].customer), now=now
    ) == [selectors.queue_position_for_conversation(conversation_id=ahead[0].pk, now=now)]
    with pytest.raises(PermissionDenied):
        selectors.queue_positions_for_customer(actor=agent_actor(make_agent()), now=now)


def test_without_history_the_eta_comes_from_staffing(settings):
    settings.PARLEY = {**settings.PARLEY, "ROUTING_DEFAULT_HANDLE_TIME": 100}
    queue = make_queue()
    agent = online_agent(queue, capacity=2)
    AgentPresence.objects.filter(user=agent).update(load=2)
    conversation = waiting(queue)
    # 2 slots / 100 s = 0.02 per second: first in line waits ~50 s.
    entry = entry_of(conversation)
    assert entry.eta_seconds == pytest.approx(50) and entry.position_at_enqueue == 1


def test_position_broadcast_sends_only_changes(published):
    from chat.recipients import customer_group

    queue = make_queue()
    a, b = waiting(queue), waiting(queue)
    published.listen(customer_group(a.customer_id), customer_group(b.customer_id))
    routing_sweep(now=later(1))
    assert [f["position"] for f in published.frames(customer_group(b.customer_id))] == [2]
    routing_sweep(now=later(2))
    assert published.frames(customer_group(b.customer_id)) == []  # nothing changed
    agent = online_agent(queue, capacity=1)
    accept(agent, a)
    routing_sweep(now=later(3))
    assert [f["position"] for f in published.frames(customer_group(b.customer_id))] == [1]


# --- gaining capacity -----------------------------------------------------------------------------
def test_resolving_frees_a_slot_and_the_next_conversation_is_offered():
    queue = make_queue()
    agent = online_agent(queue, capacity=1)
    first, second = waiting(queue), waiting(queue)
    accept(agent, first)
    assert open_offer(second) is None and presence(agent).load == 1
    conversation_actions.conversation_resolve(actor=agent_actor(agent), conversation_id=first.pk)
    assert open_offer(second).agent == agent and presence(agent).load == 1


def test_route_for_agent_is_bounded_by_free_capacity():
    queue = make_queue()
    people = [waiting(queue) for _ in range(5)]
    agent = online_agent(queue, capacity=3, connect=False)
    console(agent)
    assert Reservation.objects.filter(agent=agent, state="offered").count() == 3
    assert route_for_agent(user_id=agent.pk) == 0
    assert sum(open_offer(c) is not None for c in people) == 3


# --- language (issue 16): the rule both ways, on every database --------------------------------
def test_a_settled_language_waits_for_a_speaker_while_translation_is_off_then_anyone(settings):
    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "TRANSLATION_ENGINE": "off"}
    queue = make_queue()
    english = online_agent(queue, languages=["en"])
    AgentPresence.objects.update(status="away")
    conversation = waiting(queue)
    AgentPresence.objects.update(status="online")
    entry = entry_of(conversation)
    now = entry.enqueued_at + dt.timedelta(seconds=1)
    Conversation.objects.filter(pk=conversation.pk).update(language="fr", language_settled_at=now)
    decision = route_entry(entry_id=entry.pk, now=now)
    assert (decision.outcome, decision.code) == ("nobody", "language_required")
    assert "no free agent speaks fr and translation is unavailable" in decision.reason
    later_on = entry.enqueued_at + dt.timedelta(
        seconds=settings.PARLEY["ROUTING_LANGUAGE_WAIT"] + 1
    )
    AgentPresence.objects.update(live_until=later_on + dt.timedelta(seconds=60))  # still there
    decision = route_entry(entry_id=entry.pk, now=later_on)
    assert decision.outcome == "offered" and decision.agent_id == english.pk
    assert "anyone may take it" in decision.reason
    data = decisions(conversation)[-1].data["language"]
    assert data == {"rule": "relaxed", "language": "fr", "speaks": False,
                    "translation": "no translation engine is configured (TRANSLATION_ENGINE)",
                    "wait": 120}  # fmt: skip


def test_with_translation_on_a_speaker_is_preferred(settings):
    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "TRANSLATION_ENGINE": "fake"}
    queue = make_queue()
    online_agent(queue, languages=["en"])
    french = online_agent(queue, languages=["en", "fr"])
    AgentPresence.objects.filter(user=french).update(load=2)
    AgentPresence.objects.update(status="away")
    conversation = waiting(queue)
    AgentPresence.objects.update(status="online")
    entry = entry_of(conversation)
    now = entry.enqueued_at + dt.timedelta(seconds=1)
    Conversation.objects.filter(pk=conversation.pk).update(language="fr", language_settled_at=now)
    decision = route_entry(entry_id=entry.pk, now=now)
    assert decision.agent_id == french.pk
    assert decision.reason.endswith("speaks fr, the conversation's language")


def test_the_sweep_does_not_give_up_on_a_queue_for_one_entry_waiting_for_a_speaker(settings):
    settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, "TRANSLATION_ENGINE": "off"}
    queue = make_queue()
    english = online_agent(queue, languages=["en"])
    AgentPresence.objects.update(status="away")
    french = waiting(queue)  # first in line
    Conversation.objects.filter(pk=french.pk).update(
        language="fr", language_settled_at=timezone.now()
    )
    other = waiting(queue)
    AgentPresence.objects.update(status="online")
    now = timezone.now() + dt.timedelta(seconds=3)
    AgentPresence.objects.update(live_until=now + dt.timedelta(seconds=60))
    assert waiting_sweep(now=now) == 1
    assert open_offer(other).agent_id == english.pk
    assert decisions(french)[-1].data["code"] == "language_required"
