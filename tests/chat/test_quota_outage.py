"""The quota store (chat/quotas.py) unreachable, for real: a Redis server of the test's own
that it stops and starts. Visitors and agents keep working however long the outage lasts;
API keys pass uncounted for QUOTA_FAIL_OPEN_SECONDS, then get 503 quota_unavailable; and the
outage ends when Redis answers again, even if no call came to see it, so that two outages
are two clocks. The outage clock is the store's (``quotas.store.clock``): a test moves it
instead of sleeping 300 s."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import quotas, services
from chat.quotas import Limit
from tests.factories import customer_actor, make_agent, make_customer
from tests.faults.conftest import PORT_BASE, OwnRedis, _free_port

BOUND = 300.0  # QUOTA_FAIL_OPEN_SECONDS, as deployed


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    fake = Clock()
    quotas.store.reset()
    quotas.store.clock = fake
    yield fake
    quotas.store.reset()
    quotas.store.clock = time.monotonic


@pytest.fixture
def store_redis(settings, tmp_path, clock):
    """Quotas on a Redis of this test's own; the watcher pings every 0.1 s of real time."""
    server = OwnRedis(_free_port(PORT_BASE + 90), tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    settings.PARLEY = {
        **settings.PARLEY,
        "QUOTA_FAIL_OPEN_SECONDS": BOUND,
        "QUOTA_PROBE_SECONDS": 0.1,
    }
    quotas.store.reset()
    try:
        yield server
    finally:
        quotas.store.reset()
        server.stop()


def wait_until(condition, what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


def watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "quota-store-watch" and t.is_alive()]


def owner() -> str:
    return uuid.uuid4().hex[:12]


@pytest.mark.django_db
def test_a_long_outage_stops_api_keys_but_never_visitors_or_agents(store_redis, clock):
    customer = make_customer()
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    visitor = APIClient()
    token = services.visitor_token_issue(customer=customer)
    visitor.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
    _, raw = services.api_key_create(name="sync")
    integration = APIClient()
    integration.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    agent = APIClient()
    agent.force_login(make_agent())
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    sent = iter(range(1000))

    def post() -> int:
        body = {"client_msg_id": f"m{next(sent)}", "body": "hi"}
        return visitor.post(url, body, format="json").status_code

    assert post() == 201 and integration.get("/api/v1/conversations/").status_code == 200
    assert quotas.store.down_since is None

    store_redis.stop()
    assert post() == 201
    assert quotas.store.down_since is not None  # the visitor's call saw the outage
    assert integration.get("/api/v1/conversations/").status_code == 200  # within the bound
    clock.advance(BOUND + 1)

    refused = integration.get("/api/v1/conversations/")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "quota_unavailable"
    assert int(refused["Retry-After"]) >= 1
    # Past the bound, and past the visitor's own rate (30 per 3 s): still uncounted.
    assert [post() for _ in range(40)] == [201] * 40
    assert agent.get("/api/v1/conversations/").status_code == 200

    store_redis.start()  # nobody calls: the watcher sees it back
    wait_until(lambda: quotas.store.down_since is None, "the outage to end")
    assert integration.get("/api/v1/conversations/").status_code == 200


@pytest.mark.parametrize("caller_bounded", [True, False])
def test_two_outages_with_redis_up_between_are_two_clocks(
    store_redis, clock, caplog, caller_bounded
):
    """A probe saw "reachable again after 518 s" across two outages 3.5 minutes apart: the
    API key was refused early. Now no call is needed between them for the clock to stop."""
    rate = Limit.parse("rate", "1000/min")
    who = owner()
    assert not quotas.charge("test", who, [rate]).degraded

    store_redis.stop()
    first = quotas.charge("test", who, [rate], bounded=caller_bounded)
    assert first.allowed and first.degraded
    started = quotas.store.down_since
    with caplog.at_level(logging.WARNING, logger="chat.quotas"):
        store_redis.start()
        wait_until(lambda: quotas.store.down_since is None, "the watcher to see Redis back")
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    wait_until(lambda: not watchers(), "the watcher to stop")

    clock.advance(210)  # Redis up 3.5 minutes, no quota call meanwhile
    store_redis.stop()
    assert quotas.charge("test", who, [rate]).degraded
    assert quotas.store.down_since == started + 210  # a clock of its own
    clock.advance(BOUND - 10)  # 500 s after the first failure, 290 s into this outage
    assert quotas.charge("test", who, [rate]).allowed
    clock.advance(20)
    late = quotas.charge("test", who, [rate])
    assert (late.allowed, late.limit) == (False, quotas.UNAVAILABLE)
    assert quotas.charge("test", who, [rate], bounded=False).allowed  # visitors pass


def test_any_metered_callers_success_ends_the_outage(store_redis, clock, settings):
    """A visitor's successful call ends the outage for API keys too (the watcher is made
    too slow to be the one that sees it)."""
    settings.PARLEY = {**settings.PARLEY, "QUOTA_PROBE_SECONDS": 60}
    rate = Limit.parse("rate", "1000/min")
    store_redis.stop()
    assert quotas.charge("api_key", owner(), [rate]).degraded
    store_redis.start()
    clock.advance(61)  # calls may try Redis again
    assert not quotas.charge("visitor", owner(), [rate], bounded=False).degraded
    assert quotas.store.down_since is None
    store_redis.stop()
    clock.advance(BOUND - 50)  # would be past the bound on the first outage's clock
    assert quotas.charge("api_key", owner(), [rate]).allowed


def test_concurrent_callers_share_one_outage_and_one_watcher(store_redis, clock):
    """daphne runs sync views on threads: 16 of them at once during an outage."""
    rate = Limit.parse("rate", "5/min")
    who = owner()
    store_redis.stop()
    barrier = threading.Barrier(16)
    results: list[tuple[bool, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def caller(bounded: bool) -> None:
        try:
            barrier.wait()
            mine = [quotas.charge("race", who, [rate], bounded=bounded).allowed for _ in range(50)]
            with lock:
                results.extend((bounded, allowed) for allowed in mine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(i % 2 == 0,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 800 and all(allowed for _, allowed in results)  # open, uncounted
    assert len(watchers()) == 1
    clock.advance(BOUND + 1)
    assert not quotas.charge("race", who, [rate]).allowed
    store_redis.start()
    wait_until(lambda: quotas.store.down_since is None, "the outage to end")
    wait_until(lambda: not watchers(), "the watcher to stop")
    counted = [quotas.charge("race", who, [rate]).allowed for _ in range(6)]
    assert counted == [True] * 5 + [False]  # counted again
