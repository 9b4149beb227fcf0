"""Presence, consoles and heartbeats (time-controlled), and what happens to an agent's
offers and chats when their console goes away."""

from __future__ import annotations

import pytest
from django.utils import timezone

from actions.agents import agent_console_disconnect, agent_presence_set
from agents.models import AgentConnection, AgentPresence, AgentProfile
from agents.services import agent_profile_sync
from chat import names
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Message
from chat.recipients import user_group
from routing.models import Reservation
from routing.services import agents_lost_sweep, grace_sweep, reservation_accept, timers_sweep
from tests.factories import agent_actor, customer_actor, make_agent
from tests.routing.conftest import (
    console,
    entry_of,
    heartbeat,
    later,
    make_queue,
    online_agent,
    open_offer,
    presence,
    waiting,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_agent_comes_online_when_the_console_connects(published):
    user = make_agent(max_concurrent_chats=4, skills=["Billing"], languages=["fr", "en"])
    published.listen(user_group(user.pk))
    t0 = timezone.now()
    p = console(user, now=t0)
    assert (p.status, p.reason) == ("online", "console")
    assert p.live_until == later(60, t0) and p.capacity == 4
    assert p.skills_tag == ",billing," and p.languages_tag == ",en,fr,"
    (frame,) = [f for f in published.frames(user_group(user.pk)) if f["type"] == "agent.presence"]
    assert frame["presence"]["status"] == "online" and frame["presence"]["live"] is True


def test_a_manual_status_is_kept_across_reconnects():
    user = make_agent()
    console(user)
    agent_presence_set(actor=agent_actor(user), status="offline")
    agent_console_disconnect(user_id=user.pk, channel_name=f"test.{user.pk}.1")
    assert console(user).status == "offline"  # chose offline: stays offline
    agent_presence_set(actor=agent_actor(user), status="away")
    assert console(user, tab="2").status == "away"


def test_closing_the_last_tab_sets_offline_and_revokes_offers_then_reconnect_restores():
    queue = make_queue()
    agent = online_agent(queue)
    console(agent, tab="2")
    conversation = waiting(queue)
    offer = open_offer(conversation)
    agent_console_disconnect(user_id=agent.pk, channel_name=f"test.{agent.pk}.1")
    assert presence(agent).status == "online"  # another tab is still live
    agent_console_disconnect(user_id=agent.pk, channel_name=f"test.{agent.pk}.2")
    p = presence(agent)
    assert (p.status, p.reason, p.restore_status) == ("offline", "console_lost", "online")
    assert p.console_lost_at is not None and not p.is_live(timezone.now())
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"
    assert conversation.__class__.objects.get(pk=conversation.pk).status == "queued"
    # Back (a reload, a new tab): online again, and the waiting conversation comes back.
    p = console(agent, tab="3")
    assert (p.status, p.console_lost_at) == ("online", None)
    assert open_offer(conversation).agent == agent


def test_heartbeat_loss_makes_the_agent_ineligible_then_offline():
    queue = make_queue()
    t0 = timezone.now()
    agent = online_agent(queue, now=t0)
    offer = open_offer(waiting(queue))
    heartbeat(agent, now=later(40, t0))
    assert agents_lost_sweep(now=later(90, t0)) == []  # heartbeat at +40 s: live to +100 s
    assert presence(agent).status == "online"
    assert agents_lost_sweep(now=later(101, t0)) == [agent.pk]
    p = presence(agent)
    assert (p.status, p.reason) == ("offline", "console_lost")
    assert p.console_lost_at == later(100, t0)  # lost when the last heartbeat ran out
    assert not AgentConnection.objects.filter(user=agent).exists()
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"
    # A ping from a console the sweeper gave up on counts as a reconnect.
    heartbeat(agent, now=later(102, t0))
    assert (
        presence(agent).status == "online" and AgentConnection.objects.filter(user=agent).exists()
    )


def test_chats_of_a_lost_agent_wait_for_the_grace_period_then_go_back_sticky():
    queue = make_queue(agent_lost_grace_seconds=120)
    keep = make_queue(agent_lost_grace_seconds=None)
    agent = online_agent([queue, keep])
    mine = waiting(queue)
    kept = waiting(keep)
    for c in (mine, kept):
        reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(c).pk)
    t0 = timezone.now()
    agent_console_disconnect(user_id=agent.pk, channel_name=f"test.{agent.pk}.1", now=t0)
    assert grace_sweep(now=later(119, t0)) == 0
    assert grace_sweep(now=later(121, t0)) == 1
    mine.refresh_from_db()
    kept.refresh_from_db()
    assert (mine.status, mine.assignee_id) == ("queued", None)
    assert (kept.status, kept.assignee_id) == ("assigned", agent.pk)  # the queue keeps them
    entry = entry_of(mine)
    assert entry.sticky_agent_id == agent.pk and entry.state == "waiting"
    assert presence(agent).load == 1
    # The customer is told on the transcript (in their language: the widget's line).
    told = Message.objects.filter(conversation=mine, kind="event").order_by("-seq").first()
    assert told.data == {"line": "agent_gone", "name": names.user_name(agent)}
    assert told.body.endswith("is no longer available. We're finding someone else to help you.")
    assert not Message.objects.filter(conversation=kept, data__line="agent_gone").exists()
    # The agent comes back: the sticky conversation is offered to them first.
    console(agent, tab="2")
    offer = open_offer(mine)
    assert offer.agent == agent and offer.sticky


def test_an_agent_back_within_the_grace_period_keeps_their_chats():
    queue = make_queue(agent_lost_grace_seconds=60)
    agent = online_agent(queue)
    mine = waiting(queue)
    reservation_accept(actor=agent_actor(agent), reservation_id=open_offer(mine).pk)
    t0 = timezone.now()
    agent_console_disconnect(user_id=agent.pk, channel_name=f"test.{agent.pk}.1", now=t0)
    console(agent, now=later(30, t0), tab="2")
    assert grace_sweep(now=later(61, t0)) == 0
    mine.refresh_from_db()
    assert mine.status == "assigned"


def test_set_presence_rules(django_user_model):
    queue = make_queue()
    agent = online_agent(queue)
    other = online_agent(queue)
    with pytest.raises(ValidationError) as exc:
        agent_presence_set(actor=agent_actor(agent), status="busy")
    assert exc.value.field == "status"
    with pytest.raises(PermissionDenied):
        agent_presence_set(actor=agent_actor(agent), status="away", user_id=other.pk)
    boss = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    p = agent_presence_set(actor=agent_actor(boss), status="away", user_id=other.pk)
    assert (p.status, p.reason) == ("away", "supervisor")
    with pytest.raises(NotFound):
        agent_presence_set(actor=agent_actor(boss), status="away", user_id=10**9)
    from tests.factories import make_customer

    with pytest.raises(PermissionDenied):
        agent_presence_set(actor=customer_actor(make_customer()), status="online")


def test_going_away_hands_open_offers_on_and_online_looks_for_work():
    queue = make_queue()
    agent = online_agent(queue)
    conversation = waiting(queue)
    offer = open_offer(conversation)
    agent_presence_set(actor=agent_actor(agent), status="away")
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"
    assert open_offer(conversation) is None
    agent_presence_set(actor=agent_actor(agent), status="online")
    assert open_offer(conversation).agent == agent


def test_profile_changes_reach_the_router():
    queue = make_queue(required_skills=["billing"])
    agent = online_agent(queue)
    conversation = waiting(queue)
    assert open_offer(conversation) is None
    profile = AgentProfile.objects.get(user=agent)
    profile.skills = ["billing"]
    profile.max_concurrent_chats = 7
    profile.save()
    p = agent_profile_sync(user=agent)
    assert (p.skills_tag, p.capacity) == (",billing,", 7)
    timers_sweep(now=later(1))
    from routing.services import routing_sweep

    routing_sweep(now=later(3))
    assert open_offer(conversation).agent == agent


def test_agent_presence_rows_are_created_once():
    user = make_agent()
    console(user, tab="a")
    console(user, tab="b")
    assert AgentPresence.objects.filter(user=user).count() == 1
    assert AgentConnection.objects.filter(user=user).count() == 2


def test_console_pings_are_stored_in_batches_and_a_given_up_console_reconnects():
    from actions import agents as agent_actions  # registers the reconnect for lost consoles
    from agents import heartbeats

    queue = make_queue()
    t0 = timezone.now()
    agent = online_agent(queue, now=t0)
    channel = f"test.{agent.pk}.1"
    heartbeats.buffer.note(user_id=agent.pk, channel_name=channel, now=later(30, t0))
    assert presence(agent).live_until == later(60, t0)  # noted only: nothing written
    assert heartbeats.buffer.flush() == []
    assert presence(agent).live_until == later(90, t0)
    assert AgentConnection.objects.get(channel_name=channel).last_heartbeat_at == later(30, t0)

    # The sweeper gives up on the console; its next batched ping reconnects it.
    agents_lost_sweep(now=later(91, t0))
    assert presence(agent).status == "offline"
    heartbeats.buffer.note(user_id=agent.pk, channel_name=channel, now=later(92, t0))
    assert heartbeats.buffer.flush() == [(agent.pk, channel, later(92, t0))]
    assert heartbeats.buffer.on_lost == agent_actions._reconnect
    p = presence(agent)
    assert p.status == "online" and p.console_lost_at is None
    assert AgentConnection.objects.filter(channel_name=channel).exists()


def test_a_heartbeat_noted_just_before_the_console_closed_does_not_bring_it_back():
    """The close deletes the console's row; a ping noted an instant before used to find it
    "given up on" at the next flush and reconnect it: the agent stayed live and offered
    chats until the heartbeat timeout (seen by the black-box probe)."""
    from actions import agents as agent_actions
    from agents import heartbeats

    queue = make_queue()
    agent = online_agent(queue)
    channel = f"test.{agent.pk}.1"
    heartbeats.buffer.note(user_id=agent.pk, channel_name=channel)
    heartbeats.buffer.ended(channel)  # the socket closes (AgentConsumer.disconnect)
    agent_actions.agent_console_disconnect(user_id=agent.pk, channel_name=channel)
    assert heartbeats.buffer.flush() == []
    p = presence(agent)
    assert p.console_lost_at is not None and not AgentConnection.objects.filter(user=agent).exists()

    # A flush that had already taken the note when the socket closed skips it too.
    other = f"test.{agent.pk}.2"
    agent_actions.agent_console_connect(user=agent, channel_name=other)
    taken = {other: (agent.pk, timezone.now())}
    heartbeats.buffer.ended(other)
    agent_actions.agent_console_disconnect(user_id=agent.pk, channel_name=other)
    assert heartbeats.buffer._store(taken) == []
    assert not AgentConnection.objects.filter(user=agent).exists()
