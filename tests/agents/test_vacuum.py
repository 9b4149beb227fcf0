"""The beat task that vacuums the presence table the router's index walk reads."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from agents import tasks
from agents.models import AgentPresence
from agents.services import presence_vacuum
from tests.factories import make_agent

pytestmark = pytest.mark.postgres


def vacuums() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s",
            [AgentPresence._meta.db_table],
        )
        return cursor.fetchone()[0]


def test_beat_vacuums_the_presence_table(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("VACUUM is PostgreSQL's")
    agent = make_agent()
    for _ in range(50):  # offers and releases: dead row versions in the routing index
        AgentPresence.objects.filter(user=agent).update(load=F("load") + 1)
        AgentPresence.objects.filter(user=agent).update(load=F("load") - 1)
    before = vacuums()
    tasks.presence_vacuum.apply()
    assert vacuums() == before + 1
    assert "presence-vacuum" in settings.CELERY_BEAT_SCHEDULE


def test_vacuum_is_skipped_inside_a_transaction(transactional_db):
    # VACUUM cannot run in a transaction block; the service says no instead of failing.
    with transaction.atomic():
        assert presence_vacuum() is False
