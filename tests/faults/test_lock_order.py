"""Row locks under contention, as the soak and chaos benches found them (bench/soak.py):
two transactions of real PostgreSQL, one holding the conversation's lock while the other
waits for it. No timing: each test waits (bounded) until the second one is seen waiting
in pg_locks, then lets the first one go on."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from actions import conversations as conversation_actions
from chat.models import Conversation
from chat.payloads import conversation_payload
from chat.services.conversations import conversation_lock, conversation_open
from tests.factories import customer_actor, make_agent, make_customer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BOUND = 20.0


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_blocked(pid: int) -> bool:
    """Until backend `pid` waits for a lock (polled, bounded)."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
            if cursor.fetchone()[0]:
                return True
    return False


class Waiter(threading.Thread):
    """Runs `work` in its own transaction and connection; `pid` is its backend."""

    def __init__(self, work) -> None:
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None
        self.pid_ready = threading.Event()
        self.pid = 0

    def run(self) -> None:
        try:
            self.pid = backend_pid()
            self.pid_ready.set()
            with transaction.atomic():
                self.result = self.work()
        except Exception as exc:
            self.error = exc
        finally:
            self.pid_ready.set()
            connection.close()


def test_a_second_start_waiting_for_the_conversation_lets_foreign_key_checks_through():
    # A start that the widget retried (or a second tab) waits for the conversation's lock
    # while holding the customer's row. The transaction holding the conversation then
    # writes a row naming that customer: its foreign-key check (FOR KEY SHARE, at commit)
    # must not wait for the start, or the two wait for each other (a deadlock: 500s).
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    retry = Waiter(lambda: conversation_open(actor=customer_actor(customer))[0].pk)
    with transaction.atomic():
        conversation_lock(conversation.pk)
        retry.start()
        assert retry.pid_ready.wait(BOUND)
        assert wait_until_blocked(retry.pid), "the retried start never waited for the lock"
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '10s'")  # a bound, not a measure
            cursor.execute("SELECT 1 FROM chat_customer WHERE id = %s FOR KEY SHARE", [customer.pk])
    retry.join(BOUND)
    assert not retry.is_alive()
    assert retry.error is None
    assert retry.result == conversation.pk


def test_a_start_does_not_lock_its_site():
    # Every visitor of a site starts conversations: locking the site's row with the
    # customer's serialised them all, and joined the deadlocks above.
    customer = make_customer()
    locked = []

    def try_site() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM chat_site WHERE id = %s FOR UPDATE NOWAIT", [customer.site_id]
            )
            locked.append(cursor.fetchone()[0])

    other = Waiter(try_site)
    with transaction.atomic():
        conversation_open(actor=customer_actor(customer))
        other.start()
        other.join(BOUND)
    assert other.error is None
    assert locked == [customer.site_id]


def test_a_lock_that_waited_for_an_assignment_carries_the_agent():
    # After waiting for the lock, PostgreSQL hands back the row's newest version with the
    # joined rows as first read: the assignee set meanwhile came back as an id without
    # its user, and the payload failed (AttributeError, a 500 to the retried start).
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    Conversation.objects.filter(pk=conversation.pk).update(assignee=None)
    agent = make_agent()
    reader = Waiter(lambda: conversation_payload(conversation_lock(conversation.pk))["assignee"])
    with transaction.atomic():
        conversation_lock(conversation.pk)
        reader.start()
        assert reader.pid_ready.wait(BOUND)
        assert wait_until_blocked(reader.pid), "the reader never waited for the lock"
        Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    reader.join(BOUND)
    assert reader.error is None
    assert reader.result is not None and reader.result["id"] == agent.pk
