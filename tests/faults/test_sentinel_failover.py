"""Redis Sentinel failover under a running Parley (docs/operations.md "Redis Sentinel"):
a master, a replica and three sentinels of the test's own; `runparley` (server, worker and
beat) finds Redis through the sentinels only. The master is killed; the sentinels promote
the replica; the sockets, the channel layer, the cache and Celery follow it, and a
visitor's other tab ends with every message once and in order (resume by seq fills what
the failover dropped)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from django.core.cache.backends.redis import RedisCache

from chat.tasks import WORKER_HEARTBEAT_KEY
from config import redis_conn
from config.embedded import die_with_parent
from tests.faults.conftest import PORT_BASE, SentinelGroup, _free_port
from tests.faults.test_processes_survive import _health

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.live, pytest.mark.redis, pytest.mark.timeout(400)]
WAIT = 30


def test_sentinel_settings_give_each_redis_user_its_form(settings):
    """The layer's host entry, kombu's broker URL and the clients all name the sentinels
    and the master; without sentinels each is the plain REDIS_URL."""
    sentinels = redis_conn.parse_sentinels("10.0.0.1:26379, 10.0.0.2 ,[::1]:26380")
    assert sentinels == [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)]
    url = "redis://:s3cret@ignored:6379/3"
    host = redis_conn.layer_host(url, sentinels, "main", {"socket_timeout": 60})
    assert host["master_name"] == "main" and host["sentinels"] == sentinels
    assert (host["db"], host["password"], host["socket_timeout"]) == (3, "s3cret", 60)
    assert "address" not in host
    assert redis_conn.layer_host(url, [], "main", {}) == {"address": url}
    assert redis_conn.celery_broker(url, sentinels[:2]) == (
        "sentinel://10.0.0.1:26379/3;sentinel://10.0.0.2:26379/3"
    )
    assert redis_conn.celery_broker("unix:///tmp/r.sock", []) == "redis+socket:///tmp/r.sock"

    settings.REDIS_SENTINELS, settings.REDIS_SENTINEL_MASTER = sentinels, "main"
    settings.REDIS_URL = url
    client = redis_conn.sync_client(socket_timeout=1)
    pool = client.connection_pool
    assert pool.service_name == "main" and pool.connection_kwargs["db"] == 3
    assert redis_conn.identity() == f"sentinel:main@{sentinels}/3"


def _runparley_env(group: SentinelGroup, data_dir: Path) -> dict[str, str]:
    from tests.test_embedded import embedded_env

    env = embedded_env(data_dir)  # SQLite in data_dir; Redis only through the sentinels
    env.update(REDIS_SENTINELS=group.sentinels, REDIS_SENTINEL_MASTER=group.MASTER_NAME,
               REDIS_URL="redis://127.0.0.1:1/0", LOG_LEVEL="WARNING")  # fmt: skip
    return env


async def _next(ws, *types: str) -> dict:
    skipped = []
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        except TimeoutError:
            raise AssertionError(f"no {types} within {WAIT} s; other frames: {skipped}") from None
        if frame["type"] in types:
            return frame
        skipped.append(frame)


async def _send(ws, conversation: int, body: str) -> int:
    await ws.send(json.dumps({"type": "message.send", "id": body, "conversation": conversation,
                              "body": body, "client_msg_id": body}))  # fmt: skip
    return (await _next(ws, "message.accepted"))["seq"]


def test_parley_follows_a_sentinel_failover_and_loses_nothing(sentinel_group, tmp_path, settings):
    from tests.test_embedded import _get_json

    # This process reads Parley's heartbeat the way Parley writes it: through the sentinels.
    settings.REDIS_SENTINELS = redis_conn.parse_sentinels(sentinel_group.sentinels)
    settings.REDIS_SENTINEL_MASTER = sentinel_group.MASTER_NAME
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the host is never used under Sentinel
    cache = RedisCache(settings.REDIS_URL, {
        "KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "OPTIONS": {"pool_class": "config.redis_conn.SentinelCachePool",
                    "socket_timeout": 1, "socket_connect_timeout": 1},
    })  # fmt: skip

    def heartbeat_after(since: float) -> bool:
        try:
            return float(cache.get(WORKER_HEARTBEAT_KEY) or 0) > since
        except Exception:  # Redis between masters
            return False

    port = _free_port(PORT_BASE + 40)
    log = (tmp_path / "runparley.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "runparley", "--port", str(port), "--workers", "1",
         "--concurrency", "1"],
        cwd=ROOT, env=_runparley_env(sentinel_group, tmp_path / "data"), stdout=log,
        stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
    )  # fmt: skip
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"

    def output() -> str:
        return (tmp_path / "runparley.log").read_text()[-4000:]

    def wait_for(condition, what: str, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert runner.poll() is None, output()
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{output()}")

    async def scenario() -> None:
        # Up: the server, and worker and beat (their heartbeats cross the broker and cache).
        await asyncio.to_thread(
            wait_for, lambda: (_health(base) or {}).get("status") == "up", "/healthz up", 180
        )
        session = _get_json(f"{base}/api/v1/widget/sessions/", {"site_key": "demo-diy-shop"})
        first = await websockets.connect(f"{url}/ws/widget/?token={session['token']}")
        await _next(first, "hello")
        await first.send(json.dumps({"type": "conversation.start", "id": "s"}))
        conversation = (await _next(first, "conversation.started"))["conversation"]["id"]
        other = await websockets.connect(f"{url}/ws/widget/?token={session['token']}")
        assert (await _next(other, "hello"))["push"] is True
        seen: dict[int, str] = {}

        async def collect(until_body: str) -> None:
            deadline = time.monotonic() + WAIT
            while until_body not in seen.values():
                assert time.monotonic() < deadline, f"{until_body!r} never came: {seen}"
                frame = await _next(other, "message.new", "messages.batch")
                batch = frame["messages"] if frame["type"] == "messages.batch" else [
                    frame["message"]]  # fmt: skip
                for message in batch:
                    if message.get("conversation", conversation) == conversation:
                        assert seen.setdefault(message["seq"], message["body"]) == message["body"]

        await _send(first, conversation, "before")
        await collect("before")  # pushes flow through the first master

        sentinel_group.kill_master()
        # Accepted while there is no master: stored, its push lost or late.
        await _send(first, conversation, "between")
        await asyncio.to_thread(
            sentinel_group.wait_for,
            lambda: sentinel_group.master_port_now() == sentinel_group.replica_port,
            "the sentinels to promote the replica",
        )
        promoted = time.time()
        await _send(first, conversation, "after")
        # The other tab polls as Parley's client does until its process has Redis again,
        # then resumes from the last seq it holds without a gap.
        for n in range(120):
            await other.send(json.dumps({"type": "ping", "id": f"p{n}"}))
            pong = await _next(other, "pong")
            if pong["push"]:
                break
            await asyncio.sleep(0.5)
        assert pong["push"] is True, "pushes never resumed after the failover"
        held = 0
        while held + 1 in seen:
            held += 1
        await other.send(json.dumps({"type": "resume", "id": "r", "conversation": conversation,
                                     "after_seq": held}))  # fmt: skip
        await collect("after")
        # Live pushes flow again, through the promoted replica.
        await _send(first, conversation, "live-again")
        await collect("live-again")

        top = max(seen)
        assert sorted(seen) == list(range(1, top + 1)), seen  # no gap, none twice
        bodies = list(seen.values())
        for body in ("before", "between", "after", "live-again"):
            assert bodies.count(body) == 1, seen
        # Celery carried on: beat's heartbeat task crossed the new master's broker and the
        # worker wrote it to the cache there.
        await asyncio.to_thread(
            wait_for, lambda: heartbeat_after(promoted), "a worker heartbeat after failover", 60
        )
        await first.close()
        await other.close()

    try:
        asyncio.run(scenario())
        assert runner.poll() is None, output()
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait()
        log.close()
