from __future__ import annotations

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Skip what truly needs PostgreSQL, or a Redis server, when the suite runs on the
    embedded tier (SQLite, the in-memory layer and broker)."""
    from django.conf import settings

    skips = {}
    if settings.DATABASES["default"]["ENGINE"].endswith(("sqlite3", "sqlite_backend")):
        skips["postgres"] = pytest.mark.skip(
            reason="needs PostgreSQL (row locks, concurrent writers)"
        )
    if settings.CHANNEL_LAYER_BACKEND == "memory" or settings.REDIS_URL.startswith("unix://"):
        skips["redis"] = pytest.mark.skip(reason="needs a Redis server (the layer, CLIENT PAUSE)")
    for item in items:
        # A browser or live test waits out real back-offs and starts and stops servers; the
        # suite-wide 120 s guard (against a hang) is too close to its honest length on a
        # busy machine. Its own timeout marker, where it has one, wins.
        if ("browser" in item.keywords or "live" in item.keywords) and not item.get_closest_marker(
            "timeout"
        ):
            item.add_marker(pytest.mark.timeout(300))
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seen_notes_forgotten():
    """Customers' signs of life noted in memory (chat.services.seen) belong to one test:
    ids restart with each test database, so a leftover note would touch another row."""
    yield
    from chat import realtime

    # A test's frames still queued in the publisher thread must not reach the next test's
    # layer (ids restart with each test database: the same group names recur).
    realtime.flush()
    from agents import heartbeats
    from chat.services import api_keys, quota_notices, seen

    seen._buffer.discard()
    heartbeats.buffer.discard()
    api_keys.forget_touches()  # API keys' last use, and quota notices told: same reason
    quota_notices.forget_told()
    from chat import socket_cap

    socket_cap.forget()  # in-memory socket leases (the embedded tier), keyed by ids too


@pytest.fixture(autouse=True)
def _translation_health_forgotten():
    """The engines' health lives in the shared cache (chat.pipeline.health): a failure one
    test recorded must not make the next test's hello say "unavailable"."""
    yield
    from chat.pipeline.engines import ENGINE_NAMES
    from chat.pipeline.health import health_record
    from routing.services.language import translation_memo_clear

    for name in ENGINE_NAMES:
        health_record(engine=name, error=None)
    translation_memo_clear()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the publishes) inside a plain `db` test."""
    return django_capture_on_commit_callbacks


def quota_counts_forget() -> None:
    """Delete this run's quota counters. They are keyed by owner id (chat.quotas.key), and
    ids restart with each test's database (SQLite reuses them at once): a test's visitor
    with id 1 found the previous test's visitor 1's requests still in the 3 s window and
    got 429 where it expected 400, in runs fast enough to fit both in one window."""
    import redis
    from django.conf import settings

    from chat import quotas

    try:
        client = quotas.store.script().registered_client
        names = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:quota:*", count=1000))
        if names:
            client.delete(*names)
    except (redis.RedisError, OSError):
        pass  # a test with Redis stopped: nothing was counted


@pytest.fixture
def fresh_quotas():
    """Quota windows and "told once" notices start empty: they live in Redis (or the
    process) and outlast a test's transaction."""
    from chat import quotas
    from chat.services import quota_notices

    quotas.store.reset()
    quota_counts_forget()
    quota_notices.forget_told()
    yield
    quotas.store.reset()


@pytest.fixture(autouse=True)
def _database_threads_done_before_the_flush(request):
    """A transactional test's database threads finish before its flush (chat.dbcalls.drain):
    a service still running for a socket the test closed would write into the flush (a
    foreign key violation that fails the flush and every test after it). Not beside a live
    server, whose own sockets keep using the threads."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames
    )
    if not transactional or "live_server" in request.fixturenames:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down after this
    yield
    from chat import dbcalls

    assert dbcalls.drain(), "the database threads were still busy 30 s after the test"


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(scope="session", autouse=True)
def _flush_spares_the_post_migrate_handlers():
    """A transactional test ends with a flush, and a flush runs the post-migrate handlers:
    content types, permissions (both kept by the test backends' flush, so the handlers
    re-read every app's to find nothing missing) and the routing and send SQL (functions,
    which no flush touches). About 70 ms a transactional test, a sixth of a routing run:
    skipped when the flush kept the reference data; a flush that did not (a TRUNCATE with
    sequences reset or cascade) still runs them."""
    from django.core.management.commands import flush
    from django.db import connections

    original = flush.emit_post_migrate_signal

    def emit(verbosity, interactive, db, **kwargs):
        if not getattr(connections[db].ops, "kept_reference_data", False):
            original(verbosity, interactive, db, **kwargs)

    flush.emit_post_migrate_signal = emit
    yield
    flush.emit_post_migrate_signal = original


@pytest.fixture(scope="session", autouse=True)
def _redis_run_keys_removed():
    """This run's Redis keys (its own prefix, see config.test_settings) go when it ends, so
    test runs do not pile up leftovers in the shared Redis."""
    yield
    from django.conf import settings

    if settings.REDIS_URL.startswith("unix://"):
        return  # the embedded Redis: private to this run
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    except redis.RedisError:
        pass  # cleanup only; a stopped Redis has failed the tests that needed it already
    finally:
        client.close()


@pytest.fixture(scope="session", autouse=True)
def _pooled_connections_closed_before_the_test_database_is_dropped(
    django_db_setup, django_db_blocker
):
    """Sockets' database threads (chat.dbcalls) and the batch writers leave connections in
    the process's psycopg pool, some of them still checked out by threads that outlive
    their test; the test database can only be dropped once no session uses it."""
    yield
    from django.db import connection, connections

    from chat import dbcalls

    dbcalls.shutdown()
    with django_db_blocker.unblock():
        for conn in connections.all(initialized_only=True):
            if getattr(conn, "pool", None) is not None:
                conn.close_pool()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()
