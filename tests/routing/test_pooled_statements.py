"""The router's prepared statements on pooled connections (Django's psycopg pool, which
the suite uses as production does): a connection goes back to the pool after each request
or socket call and comes back with its prepared statements, which psycopg still knows."""

from __future__ import annotations

import pytest
from django.db import connection

from routing.services.sql import _fetch

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_prepared_statements_survive_going_back_to_the_pool():
    assert connection.pool is not None
    for n in range(6):
        assert _fetch("SELECT %s::int + 1", [n]) == [(n + 1,)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s",
                ["SELECT $1::int + 1"],
            )
            assert cursor.fetchone()[0] == 1  # prepared once on this connection, reused
        connection.close()  # back to the pool, as after every request
