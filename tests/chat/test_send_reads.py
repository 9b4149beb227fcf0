"""The send's compiled reads (chat/send_reads.py) give what the plain querysets give, on
whichever database the suite runs, and a send through them behaves as before."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from actions import conversations as conversation_actions
from chat import compiled, selectors, send_reads
from chat.exceptions import NotFound, PermissionDenied
from chat.models import Conversation, Message, Participant
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _related(conversation: Conversation) -> dict:
    return {
        name: _fields(getattr(conversation, name)) if getattr(conversation, name) else None
        for name in send_reads.LOCK_RELATED
    }


def _assigned() -> tuple:
    customer, agent = make_customer(name="Ada"), make_agent()
    conversation, _ = conversation_actions.conversation_start(
        actor=customer_actor(customer), subject="parity"
    )
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    return customer, agent, conversation.pk


@transaction.atomic
def _locked(conversation_id: int, customer_id: int | None):
    return send_reads.locked_conversation(conversation_id, customer_id)


def test_the_locked_row_matches_the_orm():
    customer, _agent, conversation_id = _assigned()
    plain = Conversation.objects.select_related(*send_reads.LOCK_RELATED).get(pk=conversation_id)
    for customer_id in (None, customer.pk):
        found = _locked(conversation_id, customer_id)
        assert _fields(found) == _fields(plain)
        assert _related(found) == _related(plain)
        assert found.assignee is not None and found.queue is not None
    assert _locked(conversation_id, make_customer().pk) is None  # not theirs
    assert _locked(conversation_id + 1000, None) is None


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_is_refused_where_rows_are_locked():
    _customer, _agent, conversation_id = _assigned()
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks the whole database, not rows: nothing to refuse")
    with pytest.raises(TransactionManagementError):
        send_reads.locked_conversation(conversation_id, None)


def test_an_agents_view_matches_the_selector():
    _customer, agent, conversation_id = _assigned()
    outsider = make_agent()
    plain = selectors.conversation_get_for_actor(
        actor=agent_actor(agent), conversation_id=conversation_id
    )
    found = send_reads.agent_visible_conversation(conversation_id, agent.pk)
    assert _fields(found) == _fields(plain) and _related(found) == _related(plain)
    # Assigned to someone else: the outsider does not see it (it waits no longer).
    with pytest.raises(NotFound):
        selectors.conversation_get_for_actor(
            actor=agent_actor(outsider), conversation_id=conversation_id
        )
    assert send_reads.agent_visible_conversation(conversation_id, outsider.pk) is None


def test_the_participants_match_the_orm():
    _customer, _agent, conversation_id = _assigned()
    plain = list(
        Participant.objects.filter(conversation_id=conversation_id, left_at__isnull=True)
        .select_related("customer", "user__agent_profile")
        .order_by("pk")
    )
    found = sorted(send_reads.active_participants(conversation_id), key=lambda p: p.pk)
    assert [_fields(p) for p in found] == [_fields(p) for p in plain]
    roles = {p.role for p in found}
    assert {Participant.Role.CUSTOMER, Participant.Role.AGENT} <= roles
    for p, q in zip(found, plain, strict=True):
        assert (p.customer and _fields(p.customer)) == (q.customer and _fields(q.customer))
        assert (p.user and _fields(p.user)) == (q.user and _fields(q.user))
        if p.user is not None:
            assert _fields(p.user.agent_profile) == _fields(q.user.agent_profile)


def test_a_retry_finds_the_stored_message_and_only_that_one():
    customer, agent, conversation_id = _assigned()
    sent, _ = conversation_actions.message_send(
        actor=customer_actor(customer),
        conversation_id=conversation_id,
        body="hi",
        client_msg_id="c-1",
    )
    found = send_reads.retried_message(conversation_id, sent.sender_id, "c-1")
    assert found is not None and _fields(found) == _fields(Message.objects.get(pk=sent.pk))
    assert send_reads.retried_message(conversation_id, sent.sender_id, "c-2") is None
    agent_participant = Participant.objects.get(conversation_id=conversation_id, user=agent)
    assert send_reads.retried_message(conversation_id, agent_participant.pk, "c-1") is None


def test_sends_through_the_compiled_reads_keep_their_rules():
    _customer, agent, conversation_id = _assigned()
    first, created = conversation_actions.message_send(
        actor=agent_actor(agent), conversation_id=conversation_id, body="hello", client_msg_id="a-1"
    )
    again, created_again = conversation_actions.message_send(
        actor=agent_actor(agent), conversation_id=conversation_id, body="hello", client_msg_id="a-1"
    )
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(NotFound):  # someone else's conversation, or none: the same answer
        conversation_actions.message_send(
            actor=agent_actor(make_agent()), conversation_id=conversation_id, body="x",
            client_msg_id="a-2",
        )  # fmt: skip
    with pytest.raises(NotFound):
        conversation_actions.message_send(
            actor=customer_actor(make_customer()), conversation_id=conversation_id, body="x",
            client_msg_id="c-9",
        )  # fmt: skip
    supervisor = make_agent()  # sees it, but does not take part
    supervisor.is_superuser = True
    supervisor.save(update_fields=["is_superuser"])
    with pytest.raises(PermissionDenied):
        conversation_actions.message_send(
            actor=agent_actor(supervisor), conversation_id=conversation_id, body="x",
            client_msg_id="s-1",
        )  # fmt: skip
    assert Message.objects.filter(conversation_id=conversation_id, body="x").count() == 0


def test_the_compiled_insert_stores_what_the_orm_stores():
    customer, _agent, conversation_id = _assigned()
    sender = Participant.objects.get(conversation_id=conversation_id, customer=customer)
    values = dict(
        conversation_id=conversation_id, sender=sender, body="ünïcode ✓", kind="text",
        data={"choice": "yes", "n": [1, 2]}, client_msg_id="ins-{}", pipeline="pending",
        moderation_flags=[{"text": "x"}],
    )  # fmt: skip
    plain = Message.objects.create(**{**values, "seq": 90, "client_msg_id": "orm"})
    mine = compiled.insert(Message(**{**values, "seq": 91, "client_msg_id": "compiled"}))
    assert mine.pk and mine.pk != plain.pk and not mine._state.adding and mine.created_at
    stored = {m.seq: _fields(m) for m in Message.objects.filter(seq__in=[90, 91])}
    for row in stored.values():
        row.pop("id"), row.pop("seq"), row.pop("client_msg_id")
    assert stored[91].pop("created_at") >= stored[90].pop("created_at")
    assert stored[91] == stored[90]
    assert Message.objects.get(pk=mine.pk).data == {"choice": "yes", "n": [1, 2]}


def test_the_compiled_update_changes_what_the_orm_changes():
    customer, _agent, conversation_id = _assigned()
    when = timezone.now()
    changed = compiled.update(
        Conversation, conversation_id, {"last_seq": 7, "last_message_at": when}
    )
    row = Conversation.objects.get(pk=conversation_id)
    assert changed == 1 and row.last_seq == 7 and row.last_message_at == when
    sender = Participant.objects.get(conversation_id=conversation_id, customer=customer)
    Participant.objects.filter(pk=sender.pk).update(read_seq=5, delivered_seq=5)
    guarded = {"read_seq": 4, "delivered_seq": 4}
    assert compiled.update(Participant, sender.pk, guarded, below=("read_seq", 4)) == 0
    assert compiled.update(Participant, sender.pk, {"read_seq": 6, "delivered_seq": 6},
                           below=("read_seq", 6)) == 1  # fmt: skip
    sender.refresh_from_db()
    assert (sender.read_seq, sender.delivered_seq) == (6, 6)
