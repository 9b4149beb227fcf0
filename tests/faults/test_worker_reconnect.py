"""A worker child whose database connection was dropped (a restart, a failover) gets a
fresh one for its next task (config/celery.py). A fault probe saw every task of the child
fail on the dead connection, 566 in a row, until the worker was killed."""

from __future__ import annotations

import psycopg
import pytest
from celery import current_app
from django.db import connection

from tests.faults.test_db_pool import _terminate

# In the live tier, a process of its own: it kills a backend of the test process's pool,
# and in one loaded CI run the fast tier's tests after it could not get a pooled
# connection for 10 s (not reproduced alone; kept apart rather than guessed at).
pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_task_after_a_dropped_connection_runs_on_a_fresh_one():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's backends")
    heartbeat = current_app.tasks["chat.tasks.worker_heartbeat"]
    assert heartbeat.apply().successful()
    connection.ensure_connection()
    dead = connection.connection.info.backend_pid
    _terminate(dead)

    failed = heartbeat.apply()  # the one task that meets the dead connection
    assert failed.failed() and isinstance(failed.result, (psycopg.Error, Exception))
    assert "connection" in str(failed.result).lower() or "terminat" in str(failed.result).lower()

    again = heartbeat.apply()
    assert again.successful(), again.result
    assert connection.connection.info.backend_pid != dead
