"""Offers: accept, decline, expiry (time-controlled), consecutive misses, revocation, and
the manual take beside them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from actions import conversations as conversation_actions
from agents.models import AgentPresence
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import Participant
from chat.recipients import user_group
from routing.models import QueueEntry, Reservation
from routing.services import (
    conversation_assign,
    offers_sweep,
    reservation_accept,
    reservation_decline,
    reservation_expire,
)
from tests.bots.conftest import Chat, make_flow
from tests.bots.test_engine import CHOICE_GRAPH
from tests.factories import agent_actor, customer_actor, make_agent

from .conftest import (
    decisions,
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


def test_accept_assigns_without_changing_the_load_and_is_idempotent(published):
    queue = make_queue()
    agent = online_agent(queue)
    published.listen(user_group(agent.pk))
    conversation = waiting(queue)
    offer = open_offer(conversation)
    frames = published.frames(user_group(agent.pk))
    offered = [f for f in frames if f["type"] == "reservation.offered"]
    assert offered and offered[0]["reservation"]["id"] == offer.pk
    assert offered[0]["reservation"]["conversation"]["id"] == conversation.pk
    assert 0 < offered[0]["reservation"]["expires_in"] <= 20

    taken = reservation_accept(actor=agent_actor(agent), reservation_id=offer.pk)
    assert (taken.status, taken.assignee_id) == ("assigned", agent.pk)
    assert Participant.objects.filter(conversation=conversation, user=agent, role="agent").exists()
    assert taken.messages.last().body.endswith("joined the conversation.")
    entry = entry_of(conversation)
    assert (entry.state, entry.via, entry.assigned_agent_id) == ("assigned", "offer", agent.pk)
    assert presence(agent).load == 1
    again = reservation_accept(actor=agent_actor(agent), reservation_id=offer.pk)
    assert again.pk == conversation.pk
    assert conversation.events.filter(to_status="assigned").count() == 1
    types = [f["type"] for f in published.frames(user_group(agent.pk))]
    assert "reservation.accepted" in types and "conversation.updated" in types


def test_only_the_offered_agent_can_accept():
    queue = make_queue()
    agent = online_agent(queue)
    intruder = online_agent(make_queue())
    offer = open_offer(waiting(queue))
    with pytest.raises(NotFound) as exc:
        reservation_accept(actor=agent_actor(intruder), reservation_id=offer.pk)
    assert exc.value.code == "offer_not_found"
    with pytest.raises(PermissionDenied):
        reservation_accept(
            actor=customer_actor(offer.conversation.customer), reservation_id=offer.pk
        )
    with pytest.raises(ValidationError):
        reservation_accept(actor=agent_actor(agent), reservation_id="1")


def test_decline_goes_to_the_next_agent_and_not_back():
    queue = make_queue()
    first = online_agent(queue)
    second = online_agent(queue)
    conversation = waiting(queue)
    offer = open_offer(conversation)
    decliner = offer.agent
    other = second if decliner == first else first
    reservation_decline(actor=agent_actor(decliner), reservation_id=offer.pk, reason="on a call")
    assert Reservation.objects.get(pk=offer.pk).end_reason == "on a call"
    nxt = open_offer(conversation)
    assert nxt.agent == other and nxt.attempt == 2
    assert presence(decliner).load == 0
    assert decliner.pk in decisions(conversation)[-1].data["excluded"]
    with pytest.raises(Conflict) as exc:
        reservation_accept(actor=agent_actor(decliner), reservation_id=offer.pk)
    assert exc.value.code == "offer_declined"
    with pytest.raises(ValidationError):
        reservation_decline(actor=agent_actor(other), reservation_id=nxt.pk, reason=42)


def test_a_lone_agent_who_declined_is_offered_again_after_the_cooldown(settings):
    queue = make_queue()
    agent = online_agent(queue)
    conversation = waiting(queue)
    reservation_decline(actor=agent_actor(agent), reservation_id=open_offer(conversation).pk)
    assert open_offer(conversation) is None
    assert decisions(conversation)[-1].data["code"] == "excluded"
    heartbeat(agent, now=later(100))
    from routing.services import routing_sweep

    routing_sweep(now=later(settings.PARLEY["ROUTING_RETRY_AGENT_AFTER"] + 1))
    assert open_offer(conversation).agent == agent


def test_expiry_is_driven_by_time_and_the_next_agent_gets_it(published):
    queue = make_queue(offer_timeout_seconds=15)
    a = online_agent(queue)
    b = online_agent(queue)
    conversation = waiting(queue)
    offer = open_offer(conversation)
    first = offer.agent
    published.listen(user_group(first.pk))
    assert offers_sweep(now=later(14)) == 0  # not yet
    assert open_offer(conversation).pk == offer.pk
    assert offers_sweep(now=later(16)) == 1
    expired = Reservation.objects.get(pk=offer.pk)
    assert expired.state == "expired" and "15 s" in expired.end_reason
    nxt = open_offer(conversation)
    assert nxt.agent == (b if first == a else a)
    assert presence(first).missed_in_a_row == 1 and presence(first).load == 0
    assert "reservation.expired" in published.types(user_group(first.pk))
    assert reservation_expire(reservation_id=offer.pk, now=later(30)) is False  # idempotent


def test_accepting_too_late_fails_and_hands_the_conversation_on():
    queue = make_queue()
    agent = online_agent(queue)
    other = online_agent(queue)
    conversation = waiting(queue)
    offer = open_offer(conversation)
    with pytest.raises(Conflict) as exc:
        reservation_accept(actor=agent_actor(offer.agent), reservation_id=offer.pk, now=later(21))
    assert exc.value.code == "offer_expired"
    assert Reservation.objects.get(pk=offer.pk).state == "expired"
    assert open_offer(conversation).agent == (other if offer.agent == agent else agent)


def test_three_missed_offers_in_a_row_set_the_agent_away_with_a_notice(published):
    queue = make_queue()
    t0 = timezone.now()
    agent = online_agent(queue, now=t0)
    published.listen(user_group(agent.pk))
    people = [waiting(queue) for _ in range(3)]  # three offers, one per slot
    assert Reservation.objects.filter(agent=agent, state="offered").count() == 3
    people.append(waiting(queue))
    t1 = timezone.now()  # the offers were stamped at real time during the setup above
    heartbeat(agent, now=later(30, t1))
    offers_sweep(now=later(21, t1))
    p = presence(agent)
    assert p.status == "away" and p.reason == "missed_offers" and p.missed_in_a_row == 3
    frames = [f for f in published.frames(user_group(agent.pk)) if f["type"] == "agent.presence"]
    assert frames[-1]["presence"]["status"] == "away"
    assert "missed 3 offers" in frames[-1]["presence"]["message"]
    # Away: no new offers, and the waiting conversations are not offered to them again.
    assert not Reservation.objects.filter(agent=agent, state="offered").exists()
    assert p.load == 0


def test_an_answer_resets_the_run_of_misses():
    queue = make_queue()
    agent = online_agent(queue)
    one, two = waiting(queue), waiting(queue)
    offer_one, offer_two = open_offer(one), open_offer(two)
    AgentPresence.objects.filter(user=agent).update(missed_in_a_row=2)
    reservation_accept(actor=agent_actor(agent), reservation_id=offer_one.pk)
    assert presence(agent).missed_in_a_row == 0
    AgentPresence.objects.filter(user=agent).update(missed_in_a_row=2)
    reservation_decline(actor=agent_actor(agent), reservation_id=offer_two.pk)
    assert presence(agent).missed_in_a_row == 0 and presence(agent).status == "online"


def test_resolving_an_offered_conversation_revokes_the_offer():
    queue = make_queue()
    agent = online_agent(queue)
    conversation = waiting(queue)
    offer = open_offer(conversation)
    conversation_actions.conversation_resolve(
        actor=customer_actor(conversation.customer), conversation_id=conversation.pk
    )
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"
    assert entry_of(conversation).state == "cancelled"
    assert presence(agent).load == 0


# --- the manual take beside offers ---------------------------------------------------------------
def test_take_withdraws_someone_elses_offer_and_checks_capacity():
    queue = make_queue()
    offered_to = online_agent(queue)
    taker = make_agent()
    conversation = waiting(queue)
    offer = open_offer(conversation)
    taken = conversation_assign(actor=agent_actor(taker), conversation_id=conversation.pk)
    assert taken.assignee == taker
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"
    assert presence(offered_to).load == 0 and presence(taker).load == 1
    entry = entry_of(conversation)
    assert (entry.state, entry.via) == ("assigned", "take")
    assert decisions(conversation)[-1].data["outcome"] == "take"

    AgentPresence.objects.filter(user=taker).update(capacity=1)
    other = waiting(queue)
    AgentPresence.objects.filter(user=offered_to).update(status="offline")
    with pytest.raises(Conflict) as exc:
        conversation_assign(actor=agent_actor(taker), conversation_id=other.pk)
    assert exc.value.code == "at_capacity"
    assert presence(taker).load == 1 and other.__class__.objects.get(pk=other.pk).status in (
        "queued",
        "offered",
    )


def test_taking_a_conversation_someone_already_took_says_taken_not_missing():
    # The loser of a take can arrive after the winner committed, when the conversation is
    # no longer in the waiting room it could see: it must still hear "already_taken".
    queue = make_queue()
    first, second = make_agent(), make_agent()
    conversation = waiting(queue)
    conversation_assign(actor=agent_actor(first), conversation_id=conversation.pk)
    with pytest.raises(Conflict) as exc:
        conversation_assign(actor=agent_actor(second), conversation_id=conversation.pk)
    assert exc.value.code == "already_taken"
    with pytest.raises(NotFound):  # ids that never were in the waiting room stay unprobeable
        conversation_assign(actor=agent_actor(second), conversation_id=conversation.pk + 10_000)
    in_bot = Chat(make_flow(CHOICE_GRAPH)).conversation  # with its bot, never queued
    assert in_bot.status == "bot"
    with pytest.raises(NotFound):
        conversation_assign(actor=agent_actor(second), conversation_id=in_bot.pk)


def test_taking_your_own_offer_accepts_it():
    queue = make_queue()
    agent = online_agent(queue)
    conversation = waiting(queue)
    offer = open_offer(conversation)
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    assert Reservation.objects.get(pk=offer.pk).state == "accepted"
    assert presence(agent).load == 1  # the reserved slot became the chat


def test_a_waiting_conversation_has_one_open_entry_and_one_open_offer_at_most():
    queue = make_queue()
    online_agent(queue)
    conversation = waiting(queue)
    from django.db import IntegrityError, transaction

    entry = entry_of(conversation)
    with pytest.raises(IntegrityError), transaction.atomic():
        QueueEntry.objects.create(
            conversation=conversation, queue=queue, enqueued_at=entry.enqueued_at,
            sla_due_at=entry.sla_due_at,
        )  # fmt: skip
    offer = open_offer(conversation)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            entry=entry, conversation=conversation, queue=queue, agent=offer.agent,
            offered_at=offer.offered_at, expires_at=offer.expires_at + dt.timedelta(seconds=1),
        )  # fmt: skip
