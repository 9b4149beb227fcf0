"""Transfers, a supervisor's reassignment, the abandon and customer-left timers, the
safety nets (repair, load check) and the admin actions."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.models import AgentPresence
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import Conversation, Customer, Participant
from chat.recipients import user_group
from chat.services import customer_seen
from routing.models import QueueEntry, Reservation
from routing.services import (
    abandon_sweep,
    conversation_reassign,
    conversation_requeue,
    conversation_transfer,
    customer_left_sweep,
    loads_reconcile,
    repair_sweep,
    reservation_accept,
)
from tests.factories import agent_actor, make_agent

from .conftest import (
    decisions,
    entry_of,
    later,
    make_queue,
    online_agent,
    open_offer,
    presence,
    waiting,
)

pytestmark = pytest.mark.django_db(transaction=True)


def assigned(queue, agent) -> Conversation:
    conversation = waiting(queue)
    offer = open_offer(conversation)
    assert offer.agent == agent
    return reservation_accept(actor=agent_actor(agent), reservation_id=offer.pk)


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")


def test_transfer_to_an_agent_with_a_note(published):
    queue = make_queue()
    ana = online_agent(queue)
    conversation = assigned(queue, ana)
    bob = online_agent(make_queue())  # need not serve the queue
    published.listen(user_group(bob.pk), user_group(ana.pk))
    moved = conversation_transfer(
        actor=agent_actor(ana), conversation_id=conversation.pk, to_agent_id=bob.pk,
        note="Refund approved, needs the address",
    )  # fmt: skip
    assert moved.assignee == bob
    assert (presence(ana).load, presence(bob).load) == (0, 1)
    assert Participant.objects.get(conversation=conversation, user=ana).left_at is not None
    assert Participant.objects.get(conversation=conversation, user=bob).left_at is None
    event = conversation.events.get(type="routing.transfer")
    assert event.data["note"] == "Refund approved, needs the address"
    frame = next(
        f for f in published.frames(user_group(bob.pk)) if f["type"] == "conversation.transferred"
    )
    assert frame["note"].startswith("Refund") and frame["from_agent"] == ana.pk
    assert "conversation.transferred" in published.types(user_group(ana.pk))
    body = conversation.messages.last().body
    assert body == f"{ana.first_name} transferred the conversation to {bob.first_name}."
    entry = QueueEntry.objects.filter(conversation=conversation).order_by("-id").first()
    assert (entry.via, entry.assigned_agent_id) == ("transfer", bob.pk)
    assert entry.note == "Refund approved, needs the address"


def test_transfer_to_an_unavailable_or_full_agent_is_refused():
    queue = make_queue()
    ana = online_agent(queue)
    conversation = assigned(queue, ana)
    away = online_agent(make_queue())
    AgentPresence.objects.filter(user=away).update(status="away")
    full = online_agent(make_queue(), capacity=1)
    AgentPresence.objects.filter(user=full).update(load=1)
    for target in (away, full):
        with pytest.raises(Conflict) as exc:
            conversation_transfer(
                actor=agent_actor(ana), conversation_id=conversation.pk, to_agent_id=target.pk
            )
        assert exc.value.code == "agent_unavailable"
    assert presence(ana).load == 1 and presence(full).load == 1
    with pytest.raises(Conflict):
        conversation_transfer(
            actor=agent_actor(ana), conversation_id=conversation.pk, to_agent_id=ana.pk
        )


def test_transfer_to_a_queue_routes_it_to_someone_else():
    queue = make_queue()
    billing = make_queue(name="Billing")
    ana = online_agent([queue, billing])
    conversation = assigned(queue, ana)
    carl = online_agent(billing)
    conversation_transfer(
        actor=agent_actor(ana), conversation_id=conversation.pk, to_queue_id=billing.pk,
        note="wants an invoice",
    )  # fmt: skip
    conversation.refresh_from_db()
    assert conversation.queue == billing and conversation.assignee is None
    offer = open_offer(conversation)
    assert offer.agent == carl  # not back to Ana, who handed it over
    assert entry_of(conversation).note == "wants an invoice"
    assert presence(ana).load == 0


@pytest.mark.parametrize(
    "kw, error",
    [
        ({}, ValidationError),
        ({"to_agent_id": 1, "to_queue_id": 1}, ValidationError),
        ({"to_agent_id": "2"}, ValidationError),
        ({"to_queue_id": 10**9}, NotFound),
        ({"to_agent_id": 10**9}, NotFound),
        ({"to_queue_id": None, "to_agent_id": None, "note": 5}, ValidationError),
    ],
)
def test_transfer_bad_input(kw, error):
    queue = make_queue()
    ana = online_agent(queue)
    conversation = assigned(queue, ana)
    with pytest.raises(error):
        conversation_transfer(actor=agent_actor(ana), conversation_id=conversation.pk, **kw)


def test_only_the_assignee_or_a_supervisor_transfers(boss):
    queue = make_queue()
    ana = online_agent(queue)
    conversation = assigned(queue, ana)
    bob = online_agent(queue)
    with pytest.raises((PermissionDenied, NotFound)):
        conversation_transfer(
            actor=agent_actor(bob), conversation_id=conversation.pk, to_queue_id=queue.pk
        )
    conversation_transfer(
        actor=agent_actor(boss), conversation_id=conversation.pk, to_agent_id=bob.pk
    )
    assert Conversation.objects.get(pk=conversation.pk).assignee == bob


def test_supervisor_reassigns_a_waiting_or_an_assigned_conversation(boss):
    queue = make_queue()
    ana = online_agent(queue)
    offered = waiting(queue)
    offer = open_offer(offered)
    absent = make_agent()  # offline, with free slots: nobody would answer the customer
    with pytest.raises(Conflict, match="not available"):
        conversation_reassign(
            actor=agent_actor(boss), conversation_id=offered.pk, to_agent_id=absent.pk
        )
    assert Reservation.objects.get(pk=offer.pk).state == "offered"  # nothing changed
    bob = online_agent(make_queue())  # online in another queue: a supervisor's call
    conversation_reassign(
        actor=agent_actor(boss), conversation_id=offered.pk, to_agent_id=bob.pk, note="VIP"
    )
    offered.refresh_from_db()
    assert offered.assignee == bob and Reservation.objects.get(pk=offer.pk).state == "revoked"
    assert presence(ana).load == 0 and presence(bob).load == 1
    assert decisions(offered)[-1].data["outcome"] == "reassign"

    mine = assigned(queue, ana)
    conversation_reassign(actor=agent_actor(boss), conversation_id=mine.pk, to_agent_id=bob.pk)
    assert Conversation.objects.get(pk=mine.pk).assignee == bob
    with pytest.raises(PermissionDenied):
        conversation_reassign(actor=agent_actor(ana), conversation_id=mine.pk, to_agent_id=ana.pk)


def test_supervisor_sends_a_conversation_back_to_the_queue(boss):
    queue = make_queue()
    ana = online_agent(queue, capacity=1)
    conversation = assigned(queue, ana)
    bob = online_agent(queue)
    conversation_requeue(actor=agent_actor(boss), conversation_id=conversation.pk)
    assert open_offer(conversation).agent == bob
    assert presence(ana).load == 0


def test_a_conversation_back_in_the_queue_has_no_assigned_time(boss):
    """Admin's Routing > Conversations showed the last assignment's "Assigned at" on a
    conversation waiting again: sent back by a supervisor, transferred to a queue,
    reopened. Each clears it; the next assignment sets it again."""
    from actions import conversations as conversation_actions

    queue = make_queue()
    ana = online_agent(queue, capacity=5)

    def back_to_waiting(conversation, send_back) -> Conversation:
        assert Conversation.objects.get(pk=conversation.pk).assigned_at is not None
        AgentPresence.objects.filter(user=ana).update(status="away")  # nobody to offer it to
        send_back(conversation)
        conversation.refresh_from_db()
        AgentPresence.objects.filter(user=ana).update(status="online")
        return conversation

    requeued = back_to_waiting(
        assigned(queue, ana),
        lambda c: conversation_requeue(actor=agent_actor(boss), conversation_id=c.pk),
    )
    other = make_queue()
    transferred = back_to_waiting(
        assigned(queue, ana),
        lambda c: conversation_transfer(
            actor=agent_actor(ana), conversation_id=c.pk, to_queue_id=other.pk
        ),
    )

    def resolve_and_reopen(c):
        conversation_actions.conversation_resolve(actor=agent_actor(ana), conversation_id=c.pk)
        conversation_actions.conversation_reopen(actor=agent_actor(ana), conversation_id=c.pk)

    reopened = back_to_waiting(assigned(queue, ana), resolve_and_reopen)
    for conversation in (requeued, transferred, reopened):
        assert (conversation.status, conversation.assignee_id) == ("queued", None)
        assert conversation.assigned_at is None, conversation.events.last().reason
    # Assigned again: a fresh time.
    t = timezone.now()
    again = conversation_reassign(
        actor=agent_actor(boss), conversation_id=requeued.pk, to_agent_id=ana.pk
    )
    assert again.assigned_at >= t


# --- timers ------------------------------------------------------------------------------------
def test_a_customer_who_left_the_queue_is_abandoned_but_offline_messages_stay():
    queue = make_queue()
    gone = waiting(queue)
    here = waiting(queue)
    offline = waiting(make_queue(limit_mode="fixed", max_waiting=0))
    assert entry_of(offline).mode == "offline"
    t0 = timezone.now()
    for c in (gone, here, offline):
        customer_seen(customer_id=c.customer_id, now=t0)
    customer_seen(customer_id=here.customer_id, now=later(250, t0))  # the widget still pings
    assert abandon_sweep(now=later(299, t0)) == 0
    assert abandon_sweep(now=later(301, t0)) == 1
    gone.refresh_from_db()
    assert gone.status == "abandoned" and entry_of(gone).state == "abandoned"
    assert gone.messages.last().body == "The customer left the queue."
    assert Conversation.objects.get(pk=here.pk).status == "queued"
    assert Conversation.objects.get(pk=offline.pk).status == "queued"


def test_a_customer_who_left_an_assigned_chat_frees_the_agent():
    queue = make_queue()
    ana = online_agent(queue)
    conversation = assigned(queue, ana)
    t0 = timezone.now()
    Customer.objects.filter(pk=conversation.customer_id).update(last_seen_at=t0)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=t0, assigned_at=t0)
    assert customer_left_sweep(now=later(1799, t0)) == 0
    assert customer_left_sweep(now=later(1801, t0)) == 1
    conversation.refresh_from_db()
    assert conversation.status == "resolved"
    resolved = conversation.events.get(type="status_changed", to_status="resolved")
    assert resolved.reason.startswith("the customer left") and resolved.actor == "timer"
    assert presence(ana).load == 0
    assert conversation.messages.last().body == "Conversation closed: the customer left."


# --- safety nets -----------------------------------------------------------------------------------
def test_load_drift_is_found_and_fixed():
    queue = make_queue()
    ana = online_agent(queue)
    assigned(queue, ana)
    waiting(queue)  # an open offer to Ana
    AgentPresence.objects.filter(user=ana).update(load=0)  # as if a write went missing
    assert loads_reconcile() == 1
    assert presence(ana).load == 2
    assert loads_reconcile() == 0


def test_repair_gives_waiting_conversations_an_entry_and_fixes_orphan_offers():
    queue = make_queue()
    conversation = waiting(queue)
    QueueEntry.objects.filter(conversation=conversation).delete()  # data from before the router
    ana = online_agent(queue, connect=False)
    from .conftest import console

    console(ana)
    assert repair_sweep(now=later(1)) == 1
    assert open_offer(conversation).agent == ana


# --- admin ----------------------------------------------------------------------------------------
def test_admin_pages_and_actions(client, boss):
    queue = make_queue()
    ana = online_agent(queue)
    conversation = waiting(queue)
    client.force_login(boss)
    for url in [
        "/admin/routing/queue/",
        f"/admin/routing/queue/{queue.pk}/change/",
        "/admin/routing/queueentry/",
        "/admin/routing/reservation/",
        "/admin/routing/routedconversation/",
        "/admin/agents/agentpresence/",
        "/admin/agents/agentprofile/",
        "/admin/agents/agentconnection/",
    ]:
        assert client.get(url).status_code == 200, url
    offer = open_offer(conversation)
    client.post(
        "/admin/routing/reservation/", {"action": "withdraw", "_selected_action": [offer.pk]}
    )
    assert Reservation.objects.get(pk=offer.pk).state == "revoked"
    # "The next agent gets it": never the one it was withdrawn from (ana is the only one).
    assert not Reservation.objects.filter(conversation=conversation, state="offered").exists()
    bob = online_agent(make_queue())  # online elsewhere: a supervisor's call
    page = client.post(
        "/admin/routing/routedconversation/",
        {"action": "reassign", "_selected_action": [conversation.pk]},
    )
    assert page.status_code == 200 and b"Reassign" in page.content
    client.post(
        "/admin/routing/routedconversation/",
        {
            "action": "reassign",
            "_selected_action": [conversation.pk],
            "apply": "1",
            "agent": bob.pk,
            "note": "",
        },
    )
    assert Conversation.objects.get(pk=conversation.pk).assignee == bob
    client.post(
        "/admin/agents/agentpresence/",
        {"action": "set_away", "_selected_action": [presence(ana).pk]},
    )
    assert presence(ana).status == "away"
    client.post(
        "/admin/routing/routedconversation/",
        {"action": "resolve", "_selected_action": [conversation.pk]},
    )
    assert Conversation.objects.get(pk=conversation.pk).status == "resolved"
    assert presence(bob).load == 0
