"""A Redis that hangs (accepts connections, never answers: SIGSTOP on a Redis of the test's
own) is treated as one that is down (docs/operations.md "Redis down, exactly"): a new
socket is accepted with `push: false` well inside WS_CONNECT_TIMEOUT, sends are stored and
acknowledged, pushes come back with Redis, and a cache call fails at its bound instead of
waiting forever."""

from __future__ import annotations

import threading
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

import config.settings as production
from chat import realtime, services
from chat.flows import flows
from chat.models import Message
from config.asgi import application
from tests.factories import customer_actor, make_customer
from tests.faults.test_redis_down import push_state, recv

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Well under WS_CONNECT_TIMEOUT (20 s), well over a join's bound and the socket cap's.
HANDSHAKE_WITHIN = 8.0


@pytest.fixture
def on_own_redis(own_redis, settings):
    """The channel layer and the cache on the test's own Redis, configured as in
    production (config/settings.py): the layer with REDIS_SOCKET_TIMEOUT's 60 s, the cache
    with its own OPTIONS."""
    settings.REDIS_URL = own_redis.url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": own_redis.url, **production._redis_kwargs()}],
                "prefix": settings.REDIS_KEY_PREFIX,
            },
        }
    }
    settings.CACHES = {"default": {**production.CACHES["default"], "LOCATION": own_redis.url}}
    yield own_redis
    own_redis.resume()
    realtime.flush(timeout=1.0)


async def test_a_socket_connects_and_sends_while_redis_hangs(on_own_redis):
    customer = await database_sync_to_async(make_customer)()
    token = await database_sync_to_async(services.visitor_token_issue)(customer=customer)
    on_own_redis.pause()

    widget = WebsocketCommunicator(application, f"/ws/widget/?token={token}")
    started_at = time.monotonic()
    connected, _ = await widget.connect(timeout=HANDSHAKE_WITHIN)
    assert connected
    hello = await recv(widget, "hello")
    assert time.monotonic() - started_at < HANDSHAKE_WITHIN
    assert hello["push"] is False

    await widget.send_json_to({"type": "conversation.start", "id": "s1"})
    conversation_id = (await recv(widget, "conversation.started"))["conversation"]["id"]
    await widget.send_json_to({"type": "message.send", "id": "m1", "conversation": conversation_id,
                               "body": "Anyone?", "client_msg_id": "c1"})  # fmt: skip
    assert (await recv(widget, "message.accepted"))["seq"] >= 1
    assert await database_sync_to_async(
        Message.objects.filter(conversation_id=conversation_id, body="Anyone?").exists
    )()

    # Redis answers again: the socket's retry task joins, pongs say so, and pushes flow.
    on_own_redis.resume()
    assert await push_state(widget, True)
    await database_sync_to_async(flows.message_send)(
        actor=customer_actor(customer), conversation_id=conversation_id, body="Pushed again",
        client_msg_id="a1",
    )  # fmt: skip
    pushed = await recv(widget, "message.new")
    while pushed["message"]["body"] != "Pushed again":
        pushed = await recv(widget, "message.new")
    await widget.disconnect()


def test_a_cache_call_fails_at_its_bound_while_redis_hangs(on_own_redis):
    cache.set("hung-probe", 1)
    on_own_redis.pause()
    outcome: dict = {}

    def call() -> None:
        began = time.monotonic()
        try:
            outcome["value"] = cache.get("hung-probe")
        except Exception as exc:
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - began

    # A thread of its own, so that a call without a bound fails this test instead of
    # hanging it (it returns at the fixture's resume).
    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    bound = production.REDIS_CACHE_TIMEOUT
    caller.join(timeout=bound + 10)
    assert not caller.is_alive(), "the cache call is still waiting on the hung Redis"
    assert "error" in outcome, outcome
    # One read timeout, no retries; redis-py's own default (5 s in redis-py 8, none
    # before it) is not what bounds it.
    assert bound - 0.5 < outcome["took"] < bound + 1.0, outcome
