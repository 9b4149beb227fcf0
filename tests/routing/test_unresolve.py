"""Undoing a resolve from the console (actions.conversation_unresolve): the rules (who,
how long, nothing in between), and what it gives back (status, assignee, the agent's slot,
the queue entry, the timeline), on the real services and database."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from actions import conversations as conversation_actions
from chat import services
from chat.exceptions import Conflict, PermissionDenied
from chat.models import Conversation, Message
from routing.models import QueueEntry
from routing.services import conversation_assign, conversation_invite
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site
from tests.routing.conftest import later, make_queue, online_agent, presence

pytestmark = pytest.mark.django_db(transaction=True)


def _assigned(capacity: int = 3):
    """A conversation the agent took, and the agent."""
    queue = make_queue()
    agent = online_agent(queue, capacity=capacity)
    customer = make_customer(site=make_site(default_queue=queue))
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.ASSIGNED
    return conversation, agent, customer


def _resolve(conversation, agent):
    conversation_actions.conversation_resolve(
        actor=agent_actor(agent), conversation_id=conversation.pk
    )


def _undo(conversation, user, **kw):
    return conversation_actions.conversation_unresolve(
        actor=agent_actor(user), conversation_id=conversation.pk, **kw
    )


def test_undo_gives_the_conversation_back_open_assigned_and_in_the_agents_slot():
    conversation, agent, _ = _assigned()
    load_before = presence(agent).load
    _resolve(conversation, agent)
    assert presence(agent).load == load_before - 1
    entry = QueueEntry.objects.filter(conversation=conversation, state="assigned").get()
    assert entry.closed_at is not None
    rev_resolved = Conversation.objects.get(pk=conversation.pk).rev

    _undo(conversation, agent)

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.ASSIGNED
    assert conversation.assignee_id == agent.pk and conversation.resolved_at is None
    assert conversation.rev > rev_resolved
    assert presence(agent).load == load_before
    entry.refresh_from_db()
    assert entry.closed_at is None  # the assignment goes on
    change = conversation.events.filter(type="status_changed").order_by("-id").first()
    assert (change.from_status, change.to_status) == ("resolved", "assigned")
    assert change.reason == "resolve undone" and change.actor == f"agent:{agent.username}"
    line = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    assert line.kind == "event" and line.data == {"line": "reopened"}
    assert line.body == f"Conversation reopened by {agent.first_name}."


def test_a_repeated_undo_changes_nothing():
    conversation, agent, _ = _assigned()
    _resolve(conversation, agent)
    _undo(conversation, agent)
    conversation.refresh_from_db()
    state = (conversation.rev, presence(agent).load, conversation.events.count())
    messages = Message.objects.filter(conversation=conversation).count()

    again = _undo(conversation, agent)

    assert again.status == Conversation.Status.ASSIGNED
    conversation.refresh_from_db()
    assert (conversation.rev, presence(agent).load, conversation.events.count()) == state
    assert Message.objects.filter(conversation=conversation).count() == messages


def test_too_late_is_refused(settings):
    settings.PARLEY = {**settings.PARLEY, "RESOLVE_UNDO_SECONDS": 30}
    conversation, agent, _ = _assigned()
    _resolve(conversation, agent)
    _undo(conversation, agent, now=later(29))  # inside the window: fine
    _resolve(conversation, agent)
    with pytest.raises(Conflict) as exc:
        _undo(conversation, agent, now=later(31))
    assert exc.value.code == "undo_expired"
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED


def test_another_agent_may_not_undo_it_a_supervisor_may():
    conversation, agent, _ = _assigned()
    other = make_agent()
    # The other agent is in the conversation too (invited), so it is not simply hidden.
    conversation_invite(actor=agent_actor(agent), conversation_id=conversation.pk, user_id=other.pk)
    _resolve(conversation, agent)
    with pytest.raises(PermissionDenied) as exc:
        _undo(conversation, other)
    assert exc.value.code == "not_resolver"
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED

    boss = make_agent()
    boss.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    _undo(conversation, boss)
    conversation.refresh_from_db()
    # Back to the agent who had it, not to the supervisor who undid it.
    assert conversation.status == Conversation.Status.ASSIGNED
    assert conversation.assignee_id == agent.pk


def test_the_customer_writing_in_between_blocks_the_undo():
    conversation, agent, customer = _assigned()
    _resolve(conversation, agent)
    conversation_actions.message_send(
        actor=customer_actor(customer),
        conversation_id=conversation.pk,
        body="One more thing",
        client_msg_id="late",
    )
    with pytest.raises(Conflict) as exc:
        _undo(conversation, agent)
    assert exc.value.code == "not_resolved"


def test_a_rating_in_between_blocks_the_undo():
    conversation, agent, customer = _assigned()
    _resolve(conversation, agent)
    services.csat_submit(actor=customer_actor(customer), conversation_id=conversation.pk, score=5)
    with pytest.raises(Conflict) as exc:
        _undo(conversation, agent)
    assert exc.value.code == "customer_rated"


def test_an_open_conversation_is_not_undone():
    conversation, agent, _ = _assigned()
    with pytest.raises(Conflict) as exc:
        _undo(conversation, agent)
    assert exc.value.code == "not_resolved"


def test_a_reopen_in_between_blocks_the_undo():
    conversation, agent, _ = _assigned()
    _resolve(conversation, agent)
    conversation_actions.conversation_reopen(
        actor=agent_actor(agent), conversation_id=conversation.pk
    )
    with pytest.raises(Conflict) as exc:
        _undo(conversation, agent)
    assert exc.value.code == "not_resolved"


def test_the_undo_comes_back_over_capacity():
    """The freed slot went to a new chat meanwhile: the undone one still comes back."""
    conversation, agent, _ = _assigned(capacity=1)
    _resolve(conversation, agent)
    second = make_customer(site=conversation.site)
    other, _ = conversation_actions.conversation_start(actor=customer_actor(second))
    conversation_assign(actor=agent_actor(agent), conversation_id=other.pk)
    assert presence(agent).load == 1
    _undo(conversation, agent)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.ASSIGNED
    assert presence(agent).load == 2
