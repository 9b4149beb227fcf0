"""Parley's ASGI app under daphne, started as `runparley` starts it (config/server.py), on
the test's own database: what only a real server shows (its threads, its frame limit)."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.browser.conftest import _database_url, asgi_server  # noqa: F401  (fixture)
from tests.factories import make_customer, make_site

pytestmark = [pytest.mark.live, pytest.mark.postgres]

POOL_MAX = 4
APP_NAME = f"parley-live-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def server_env(transactional_db) -> dict[str, str]:
    return {
        "DEBUG": "false",
        # The server's connections carry a name of their own, to be counted apart from
        # this test's (and from parallel runs').
        "DATABASE_URL": f"{_database_url()}?application_name={APP_NAME}",
        "DATABASE_POOL_MAX_SIZE": str(POOL_MAX),
        "API_ANON_RATE": "1000/min",
    }


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
        )
        return cursor.fetchone()[0]


def test_fifty_concurrent_rest_calls_leave_the_connection_count_bounded(asgi_server):  # noqa: F811
    """Under ASGI each request runs on a thread of its own: with per-thread persistent
    connections (CONN_MAX_AGE=60) bursts of 15 calls left 47 idle connections, and a long
    run reached PostgreSQL's limit. The pool bounds them: never more than its size, during
    the burst or after, and every call succeeds (waiting for a free connection)."""
    site = make_site()
    body = json.dumps({"site_key": site.key}).encode()
    start = threading.Barrier(50)

    def call(_: int) -> int:
        request = urllib.request.Request(
            f"{asgi_server.url}/api/v1/widget/sessions/",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        start.wait(10)
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status

    peak, done = 0, threading.Event()

    def watch() -> None:
        nonlocal peak
        try:
            while not done.is_set():
                peak = max(peak, _server_connections())
                done.wait(0.02)
        finally:
            connection.close()  # this thread's own

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _burst in range(3):
            with ThreadPoolExecutor(50) as pool:
                statuses = list(pool.map(call, range(50)))
            assert statuses == [200] * 50
    finally:
        done.set()
        watcher.join()
    after = _server_connections()
    assert 0 < peak <= POOL_MAX, f"peak {peak}"
    assert after <= POOL_MAX


def test_a_frame_over_parleys_limit_gets_too_large_and_the_socket_stays_open(asgi_server):  # noqa: F811
    """daphne's own limit (1 MiB by default) dropped bigger frames with a 1006, and the
    client sent them again on reconnect. runparley now sets daphne's limit above Parley's."""
    from websockets.sync.client import connect

    from chat import services

    customer = make_customer()
    token = services.visitor_token_issue(customer=customer)
    url = f"{asgi_server.url.replace('http', 'ws')}/ws/widget/?token={token}"
    with connect(url, open_timeout=10, max_size=None) as ws:

        def next_of(kind: str) -> dict:
            while True:
                frame = json.loads(ws.recv(timeout=10))
                if frame["type"] == kind:
                    return frame

        next_of("hello")
        ws.send(json.dumps({"type": "ping", "id": "big", "pad": "x" * (2 * 1024 * 1024)}))
        assert next_of("error")["code"] == "too_large"
        ws.send(json.dumps({"type": "ping", "id": "after"}))
        assert next_of("pong")["ref"] == "after"
