"""Webhook deliveries keep their connections alive: several deliveries to one endpoint go
over one TCP connection (the real receiver counts them), a connection the receiver closed
is replaced without losing a delivery, a timed-out one is not reused, and a forked worker
never inherits its parent's sockets."""

from __future__ import annotations

import os

import pytest

from integrations import connections
from integrations.models import WebhookDelivery
from integrations.services import delivery

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State


def _deliver(conversation, hook) -> int:
    return delivery.lane_run(endpoint_id=hook.pk, lane=conversation.pk)


def test_deliveries_to_one_endpoint_share_one_connection(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    for n in range(5):
        send(conversation, f"m{n}")
    assert _deliver(conversation, hook) == 5
    second = start()  # another lane (another customer's conversation? the same endpoint)
    send(second, "later")
    assert _deliver(second, hook) == 1
    assert len(receiver.requests) == 6
    assert receiver.connections == 1
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_a_connection_the_receiver_closed_is_replaced(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    receiver.plan = [200, "close", 200, 200]
    for n in range(4):
        send(conversation, f"m{n}")
    assert _deliver(conversation, hook) == 4
    assert [b["data"]["message"]["body"] for b in receiver.bodies()] == ["m0", "m1", "m2", "m3"]
    assert receiver.connections == 2


def test_a_timed_out_connection_is_not_reused(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    receiver.plan = ["timeout"]
    send(conversation, "slow")
    assert _deliver(conversation, hook) == 0
    attempt = WebhookDelivery.objects.get().log.get()
    assert attempt.error.startswith("timeout") and attempt.response_status is None
    WebhookDelivery.objects.update(next_attempt_at="2000-01-01T00:00:00Z")
    assert _deliver(conversation, hook) == 1
    # The stalled connection was dropped, not handed the next request.
    assert receiver.connections == 2 and len(receiver.requests) == 2


def test_a_forked_child_starts_with_no_connection(start, send, endpoint, receiver):
    hook = endpoint()
    conversation = start()
    send(conversation, "warm")
    assert _deliver(conversation, hook) == 1
    parent_pool = connections.pool()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a Celery prefork worker sees
        os.close(read)
        fresh = connections._state["pool"] is None and connections.pool() is not parent_pool
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert connections.pool() is parent_pool  # the parent keeps its own
