"""Degraded modes with Redis down (docs/operations.md "Failure behaviour"), against a Redis
of the test's own that it stops and starts: visitors start and resume conversations over
REST and sockets, sends are stored, handshakes succeed with `push: false`, and pushes come
back when Redis does."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chat import realtime, services
from chat.flows import flows
from chat.models import Message
from config.asgi import application
from tests.factories import customer_actor, make_customer, make_site

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TIMEOUT = 10


@pytest.fixture
def on_own_redis(own_redis, settings):
    """The app's channel layer and cache on the test's own Redis."""
    settings.REDIS_URL = own_redis.url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": own_redis.url, "socket_connect_timeout": 1,
                           "socket_timeout": 5, "retry_on_timeout": True}],
                "prefix": settings.REDIS_KEY_PREFIX,
            },
        }
    }  # fmt: skip
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": own_redis.url, "KEY_PREFIX": settings.REDIS_KEY_PREFIX}
    }  # fmt: skip
    yield own_redis
    realtime.flush(timeout=1.0)


async def recv(comm: WebsocketCommunicator, *types: str) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=TIMEOUT)
        if frame["type"] in types:
            return frame


async def push_state(comm: WebsocketCommunicator, want: bool, within: float = 20.0) -> bool:
    """Ping until the pong's `push` is `want` (the process probes Redis every 2 s)."""
    deadline = time.monotonic() + within
    n = 0
    while time.monotonic() < deadline:
        n += 1
        await comm.send_json_to({"type": "ping", "id": f"p{n}"})
        pong = await recv(comm, "pong")
        if pong["push"] is want:
            return True
        await asyncio.sleep(0.5)
    return False


async def test_a_visitor_connects_starts_and_sends_while_redis_is_down(on_own_redis):
    site = await database_sync_to_async(make_site)()
    customer = await database_sync_to_async(make_customer)(site=site)
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    on_own_redis.stop()

    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}")
    connected, _ = await widget.connect(timeout=TIMEOUT)
    assert connected
    hello = await recv(widget, "hello")
    assert hello["push"] is False
    await widget.send_json_to({"type": "conversation.start", "id": "s1"})
    started = await recv(widget, "conversation.started")
    conversation_id = started["conversation"]["id"]
    await widget.send_json_to({"type": "message.send", "id": "m1", "conversation": conversation_id,
                               "body": "Is anyone there?", "client_msg_id": "c1"})  # fmt: skip
    accepted = await recv(widget, "message.accepted")
    assert accepted["seq"] >= 1
    assert await database_sync_to_async(
        Message.objects.filter(conversation_id=conversation_id, body="Is anyone there?").exists
    )()
    # resume is the fallback while pushes are off: it answers from the database.
    await widget.send_json_to({"type": "resume", "id": "r1", "conversation": conversation_id,
                               "after_seq": 0})  # fmt: skip
    batch = await recv(widget, "messages.batch")
    assert [m["body"] for m in batch["messages"]][-1] == "Is anyone there?"

    # Redis comes back: the socket joins its groups by itself, and pushes flow again.
    on_own_redis.start()
    assert await push_state(widget, True)
    # A send from elsewhere (the customer's other device, over REST) is pushed to it.
    await database_sync_to_async(flows.message_send)(
        actor=customer_actor(customer), conversation_id=conversation_id, body="Yes, hello!",
        client_msg_id="a1",
    )  # fmt: skip
    pushed = await recv(widget, "message.new")
    while pushed["message"]["body"] != "Yes, hello!":
        pushed = await recv(widget, "message.new")
    await widget.disconnect()


async def test_a_socket_that_joined_before_the_outage_gets_pushes_after_it(on_own_redis):
    customer = await database_sync_to_async(make_customer)()
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}")
    assert (await widget.connect(timeout=TIMEOUT))[0]
    assert (await recv(widget, "hello"))["push"] is True
    await widget.send_json_to({"type": "conversation.start", "id": "s1"})
    conversation_id = (await recv(widget, "conversation.started"))["conversation"]["id"]

    on_own_redis.stop()
    assert await push_state(widget, False)  # the client now polls resume
    on_own_redis.start()
    assert await push_state(widget, True)
    # Its subscriptions came back with the connection: a push from another "tab" arrives.
    other = WebsocketCommunicator(application, f"/ws/widget/?token={token}")
    assert (await other.connect(timeout=TIMEOUT))[0]
    await recv(other, "hello")
    await other.send_json_to({"type": "message.send", "id": "m1", "conversation": conversation_id,
                              "body": "from the other tab", "client_msg_id": "t2"})  # fmt: skip
    await recv(other, "message.accepted")
    pushed = await recv(widget, "message.new")
    while pushed["message"]["body"] != "from the other tab":
        pushed = await recv(widget, "message.new")
    await other.disconnect()
    await widget.disconnect()


@pytest.fixture
def fresh_outage():
    """The anonymous throttle's outage state is per process: each test starts with none."""
    from chat.api import anon_throttle

    anon_throttle.outage.recovered()
    anon_throttle._local.clear()
    yield anon_throttle
    anon_throttle.outage.recovered()
    anon_throttle._local.clear()


def test_rest_starts_resumes_and_sends_while_redis_is_down(on_own_redis, fresh_outage):
    # The anonymous throttle reads Redis too: it fails open (chat/api/anon_throttle.py).
    site = make_site()
    on_own_redis.stop()
    client = Client()
    session = client.post("/api/v1/widget/sessions/", {"site_key": site.key},
                          content_type="application/json")  # fmt: skip
    assert session.status_code in (200, 201), session.content
    auth = {"HTTP_AUTHORIZATION": f"Visitor {session.json()['token']}"}
    again = client.post("/api/v1/widget/sessions/",
                        {"site_key": site.key, "token": session.json()["token"]},
                        content_type="application/json")  # fmt: skip
    assert again.status_code in (200, 201)
    assert again.json()["customer"]["id"] == session.json()["customer"]["id"]
    auth = {"HTTP_AUTHORIZATION": f"Visitor {again.json()['token']}"}
    started = client.post("/api/v1/conversations/", {}, content_type="application/json", **auth)
    assert started.status_code == 201, started.content
    cid = started.json()["id"]
    sent = client.post(f"/api/v1/conversations/{cid}/messages/",
                       {"body": "Hello from REST", "client_msg_id": "r1"},
                       content_type="application/json", **auth)  # fmt: skip
    assert sent.status_code == 201, sent.content
    page = client.get(f"/api/v1/conversations/{cid}/messages/?after_seq=0", **auth)
    assert page.status_code == 200
    assert "Hello from REST" in [m["body"] for m in page.json()["messages"]]


def test_the_anonymous_throttle_fails_open_then_counts_per_process(
    on_own_redis, fresh_outage, settings, monkeypatch
):
    """Redis down: no 500; anonymous callers pass uncounted for THROTTLE_FAIL_OPEN_SECONDS,
    then the same rate is counted in the process; Redis back: counted there again."""
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/min"})
    settings.PARLEY = {**settings.PARLEY, "THROTTLE_FAIL_OPEN_SECONDS": 3600.0,
                       "QUOTA_PROBE_SECONDS": 0.0}  # fmt: skip
    site = make_site()
    client = Client()

    def session() -> int:
        return client.post("/api/v1/widget/sessions/", {"site_key": site.key},
                           content_type="application/json").status_code  # fmt: skip

    on_own_redis.stop()
    assert [session() for _ in range(5)] == [200] * 5  # open: over the rate, uncounted
    settings.PARLEY = {**settings.PARLEY, "THROTTLE_FAIL_OPEN_SECONDS": 0.0}
    assert [session() for _ in range(4)] == [200, 200, 200, 429]  # past the bound: local
    on_own_redis.start()
    codes = [session() for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # Redis again: its own count, from zero
