"""A customer's GDPR erasure racing the writers of their conversation, against real
PostgreSQL row locks: threads with their own connections. The erase held the customer's
row FOR UPDATE while the resolve (or reopen) held the conversation's, and each then needed
the other's for a foreign key check at commit: PostgreSQL broke the cycle (a 500)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from actions import conversations as conversation_actions
from chat import services
from chat.actors import Actor
from chat.models import Conversation, ConversationEvent, Customer
from chat.services.customers import customer_erase
from tests.factories import customer_actor, make_customer, make_site

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 30


def race(*targets):
    """Run each target in its own thread (its own connection), released together."""
    barrier = threading.Barrier(len(targets))
    errors: list[Exception] = []

    def work(target):
        try:
            barrier.wait(10)
            target()
        except Exception as exc:  # the test reports whatever it was
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_erase_and_resolve_or_reopen_of_the_same_customer_do_not_deadlock():
    site = make_site()
    customer = make_customer(site=site, email="z@example.com", external_id="crm-1")
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    key, _raw = services.api_key_create(name="erase-race", site=site)
    service = Actor.for_service(key)

    def erase():
        customer_erase(actor=service, customer=Customer.objects.get(pk=customer.pk))

    def resolve_or_reopen():
        status = Conversation.objects.get(pk=conversation.pk).status
        if status == Conversation.Status.RESOLVED:
            conversation_actions.conversation_reopen(actor=service, conversation_id=conversation.pk)
        else:
            conversation_actions.conversation_resolve(
                actor=service, conversation_id=conversation.pk, reason="race"
            )

    failures = []
    for i in range(ROUNDS):
        # Something the customer wrote, so that each erase has messages to blank.
        conversation_actions.message_send(
            actor=customer_actor(customer),
            conversation_id=conversation.pk,
            body=f"my card is 4111 ({i})",
            client_msg_id=f"m{i}",
        )
        errors = race(erase, resolve_or_reopen)
        failures += [f"round {i}: {type(e).__name__}: {e}" for e in errors]
    assert failures == [], "\n".join(failures[:3])

    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.external_id) == ("", "", None)
    assert "erased_at" in customer.attributes
    conversation.refresh_from_db()
    assert conversation.status in {
        Conversation.Status.RESOLVED,
        Conversation.Status.REOPENED,
        Conversation.Status.QUEUED,
        Conversation.Status.ASSIGNED,
    }
    erasures = ConversationEvent.objects.filter(conversation=conversation, type="customer.erased")
    assert erasures.count() == ROUNDS
