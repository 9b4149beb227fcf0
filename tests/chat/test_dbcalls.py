"""Where a socket's database work runs (chat.dbcalls): with one database thread (the
embedded SQLite), that thread keeps its connection between calls, and gives up one that
an error left unusable."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from chat.dbcalls import db

pytestmark = pytest.mark.django_db(transaction=True)


def _session() -> tuple[int, object]:
    """The connection this thread holds now (opened if need be)."""
    connection.ensure_connection()
    return id(connection.connection), connection.connection


@pytest.fixture
def one_thread(settings):
    settings.PARLEY = {**settings.PARLEY, "DB_THREADS": 1}


def _still_open() -> bool:
    return connection.connection is not None


async def test_the_one_database_thread_keeps_its_connection(one_thread):
    first, _ = await db(_session)()
    assert await db(_still_open)()  # not closed (or given back to the pool) after a call
    second, _ = await db(_session)()
    assert first == second


async def test_a_connection_an_error_left_unusable_is_closed_and_replaced(one_thread):
    if connection.vendor != "postgresql":
        pytest.skip("needs a server that can end a session")

    def killed() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    first, _ = await db(_session)()
    with pytest.raises(OperationalError):
        await db(killed)()
    replaced, live = await db(_session)()
    assert replaced != first and live is not None

    def answer() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0]

    assert await db(answer)() == 1


async def test_a_failed_statement_does_not_cost_the_connection(one_thread):
    def bad() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")

    first, _ = await db(_session)()
    with pytest.raises(Exception):  # noqa: B017 - each database names it differently
        await db(bad)()
    again, _ = await db(_session)()
    assert again == first
