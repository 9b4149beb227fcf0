"""The pool's check of a connection it hands out (config/dbpool.py): no round trip for a
healthy connection, and a connection the server closed while it sat in the pool is
replaced before anyone uses it, as the round-trip check did."""

from __future__ import annotations

import os
import tempfile
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg_pool import ConnectionPool

from config.postgresql import base as dbpool

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def make_pool():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's pool only")
    pools = []

    def make(check) -> ConnectionPool:
        kwargs = {**connection.get_connection_params(), "autocommit": True}
        pool = ConnectionPool(kwargs=kwargs, min_size=1, max_size=1, check=check, open=True)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def _terminate(pid: int) -> None:
    """Have the server close a pooled connection's backend, and wait until it is gone."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(500):
            gone = admin.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", [pid]
            ).fetchone()[0]
            if gone:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} still there")


def _borrowed_pid(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return conn.info.backend_pid


def test_djangos_pool_checks_with_the_poll():
    if connection.vendor != "postgresql" or connection.pool is None:
        pytest.skip("no pool configured (DATABASE_POOL_MAX_SIZE=0 or SQLite)")
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert connection.pool._check is dbpool.check_connection


@pytest.mark.parametrize("check", [dbpool.check_connection, None], ids=["checked", "unchecked"])
def test_a_connection_the_server_closed_is_replaced_before_it_is_used(make_pool, check):
    pool = make_pool(check)
    pid = _borrowed_pid(pool)
    _terminate(pid)
    with pool.connection() as conn:
        if check is None:  # what the check is for: the dead one is handed out and fails
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
            return
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.backend_pid != pid


@pytest.mark.parametrize(
    "check, round_trips",
    [(dbpool.check_connection, False), (ConnectionPool.check_connection, True)],
    ids=["poll", "round-trip"],
)
def test_a_healthy_connection_is_handed_out_without_a_round_trip(make_pool, check, round_trips):
    pool = make_pool(check)
    _borrowed_pid(pool)  # opened and back in the pool
    with tempfile.TemporaryFile() as trace:
        with pool.connection() as conn:
            conn.pgconn.trace(trace.fileno())  # libpq's log of every protocol message
        with pool.connection() as conn:
            conn.pgconn.untrace()
        trace.flush()
        os.fsync(trace.fileno())
        trace.seek(0)
        log = trace.read().decode()
    assert ("EmptyQueryResponse" in log) is round_trips
