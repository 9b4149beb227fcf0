"""The floor dashboard's socket: live snapshots without polling, read-only following,
the supervisor's actions, and refusals."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from actions import conversations as conversation_actions
from agents.models import AgentPresence
from chat import events
from config.asgi import application
from routing.models import Queue
from tests.chat.test_consumers import recv
from tests.factories import customer_actor, make_agent, make_customer, make_site, session_cookie
from tests.routing.conftest import make_queue, online_agent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quick_floor(settings):
    # Pushes come from changes, not the clock: the clock's push is an hour away.
    settings.SUPERVISION = {
        **settings.SUPERVISION, "FLOOR_MIN_INTERVAL": 0.05, "FLOOR_REFRESH_SECONDS": 3600.0
    }  # fmt: skip


async def floor_socket(user, expect_hello: bool = True):
    sid = await database_sync_to_async(session_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        "/ws/floor/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


def boss():
    return get_user_model().objects.create_user(
        "boss", password="p", is_staff=True, is_superuser=True
    )


async def snapshot(comm, check=lambda s: True) -> dict:
    """The next floor.snapshot that passes ``check``."""
    while True:
        frame = await recv(comm, "floor.snapshot", timeout=5)
        events.check(frame)
        if check(frame):
            return frame


async def test_a_new_conversation_is_pushed_at_once_and_the_verdict_follows():
    queue = await database_sync_to_async(make_queue)(name="Sales", sla_seconds=60)
    supervisor = await database_sync_to_async(boss)()
    comm = await floor_socket(supervisor)
    hello = await recv(comm, "hello")
    assert hello["conversations"] == []
    first = await snapshot(comm)
    sales = next(q for q in first["queues"] if q["name"] == "Sales")
    assert sales["waiting"] == 0 and first["verdict"]["kind"] == "ok"

    def arrive():
        customer = make_customer(site=make_site(default_queue=queue))
        return conversation_actions.conversation_start(actor=customer_actor(customer))[0]

    conversation = await database_sync_to_async(arrive)()
    after = await snapshot(
        comm, lambda s: next(q for q in s["queues"] if q["name"] == "Sales")["waiting"] == 1
    )
    sales = next(q for q in after["queues"] if q["name"] == "Sales")
    assert sales["arrivals"][-1] == 1 and sales["longest_wait_s"] >= 0
    assert conversation.pk
    await comm.disconnect()


async def test_follow_reads_a_conversation_live_and_actions_act():
    queue = await database_sync_to_async(make_queue)(name="Care")
    ann = await database_sync_to_async(online_agent)(queue, capacity=2)
    bob = await database_sync_to_async(make_agent)("bob")
    supervisor = await database_sync_to_async(boss)()

    def arrive():
        customer = make_customer(site=make_site(default_queue=queue))
        return conversation_actions.conversation_start(actor=customer_actor(customer))[0]

    conversation = await database_sync_to_async(arrive)()
    comm = await floor_socket(supervisor)
    await recv(comm, "hello")
    await comm.send_json_to({"type": "floor.follow", "id": "f", "conversation": conversation.pk})
    ack = await recv(comm, "ack")
    assert (ack["for"], ack["conversation"]) == ("floor.follow", conversation.pk)
    batch = await recv(comm, "messages.batch")
    assert batch["conversation"]["id"] == conversation.pk

    def say():
        return conversation_actions.message_send(
            actor=customer_actor(conversation.customer),
            conversation_id=conversation.pk,
            body="is anyone there?",
            client_msg_id="c1",
        )

    await database_sync_to_async(say)()
    new = await recv(comm, "message.new")
    assert new["message"]["body"] == "is anyone there?"

    await comm.send_json_to(
        {"type": "floor.reassign", "id": "r", "conversation": conversation.pk, "to_agent": ann.pk}
    )
    assert (await recv(comm, "ack"))["conversation"] == conversation.pk
    await comm.send_json_to({"type": "floor.agent_away", "id": "a", "agent": bob.pk})
    assert (await recv(comm, "ack"))["status"] == "away"
    await comm.send_json_to({"type": "floor.queue_close", "id": "q", "queue": queue.pk})
    assert (await recv(comm, "ack"))["status"] == "closed"

    def state():
        conversation.refresh_from_db()
        q = Queue.objects.get(pk=queue.pk)
        return (
            conversation.assignee_id,
            AgentPresence.objects.get(user=bob).status,
            (q.limit_mode, q.max_waiting),
        )

    assert await database_sync_to_async(state)() == (ann.pk, "away", ("fixed", 0))
    closed = await snapshot(comm, lambda s: any(q["closed"] for q in s["queues"]))
    assert next(q for q in closed["queues"] if q["name"] == "Care")["waiting_limit"] == 0
    # Bad input: a clear error frame, the socket stays open.
    await comm.send_json_to({"type": "floor.follow", "id": "x", "conversation": "twelve"})
    assert (await recv(comm, "error"))["code"] == "invalid_field"
    await comm.send_json_to({"type": "floor.follow", "id": "y", "conversation": 999999})
    assert (await recv(comm, "error"))["code"] == "not_found"
    await comm.send_json_to({"type": "floor.queue_close", "id": "z", "queue": queue.pk,
                             "closed": "yes"})  # fmt: skip
    assert (await recv(comm, "error"))["field"] == "closed"
    await comm.send_json_to({"type": "ping", "id": "p"})
    assert (await recv(comm, "pong"))["ref"] == "p"
    await comm.disconnect()


async def test_an_agent_who_is_not_staff_is_refused():
    agent = await database_sync_to_async(make_agent)("carl")
    comm = await floor_socket(agent)
    error = await recv(comm, "error")
    assert error["code"] == "forbidden"
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}
