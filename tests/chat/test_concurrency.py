"""Races against real PostgreSQL row locks: threads with their own connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from actions import conversations as conversation_actions
from chat.exceptions import Conflict
from chat.models import Conversation, Message, Participant
from routing.services import conversation_assign
from tests.factories import agent_actor, customer_actor, make_agent, make_customer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def run_threads(target, args_list):
    barrier = threading.Barrier(len(args_list))
    results, errors = [], []

    def work(*args):
        try:
            barrier.wait()
            results.append(target(*args))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


@pytest.fixture(params=["server", "orm"])
def send_path(request, settings):
    """The send both ways: one call of parley_message_send, and the ORM's statements."""
    settings.PARLEY = {**settings.PARLEY, "SERVER_SENDS": request.param == "server"}
    return request.param


@pytest.mark.usefixtures("send_path")
def test_concurrent_senders_get_unique_gapless_seqs():
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    agent = make_agent()
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    base = Conversation.objects.get(pk=conversation.pk).last_seq
    actors = [customer_actor(customer), agent_actor(agent)]

    def send(i):
        message, _ = conversation_actions.message_send(
            actor=actors[i % 2],
            conversation_id=conversation.pk,
            body=f"m{i}",
            client_msg_id=f"c{i}",
        )
        return message.seq

    seqs, errors = run_threads(send, [(i,) for i in range(16)])
    assert errors == []
    assert sorted(seqs) == list(range(base + 1, base + 17))
    assert Conversation.objects.get(pk=conversation.pk).last_seq == base + 16


@pytest.mark.usefixtures("send_path")
def test_concurrent_retries_of_one_message_create_one_row():
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))

    def send():
        message, created = conversation_actions.message_send(
            actor=customer_actor(customer),
            conversation_id=conversation.pk,
            body="hi",
            client_msg_id="once",
        )
        return message.seq, created

    results, errors = run_threads(send, [()] * 8)
    assert errors == []
    assert len({seq for seq, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert Message.objects.filter(conversation=conversation, client_msg_id="once").count() == 1


def test_exactly_one_agent_wins_a_conversation():
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    agents = [make_agent() for _ in range(6)]
    results, errors = run_threads(
        lambda a: conversation_assign(actor=agent_actor(a), conversation_id=conversation.pk),
        [(a,) for a in agents],
    )
    assert len(results) == 1
    assert len(errors) == 5 and all(
        isinstance(e, Conflict) and e.code == "already_taken" for e in errors
    )
    conversation.refresh_from_db()
    assert conversation.assignee_id == results[0].assignee_id
    assert Participant.objects.filter(conversation=conversation, role="agent").count() == 1
    assert conversation.events.filter(to_status="assigned").count() == 1


def test_two_tabs_starting_at_once_share_one_conversation():
    customer = make_customer()
    results, errors = run_threads(
        lambda: conversation_actions.conversation_start(actor=customer_actor(customer))[0].pk,
        [()] * 6,
    )
    assert errors == [] and len(set(results)) == 1
    assert Conversation.objects.filter(customer=customer).count() == 1
