from __future__ import annotations

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Skip what truly needs PostgreSQL when the suite runs on the embedded SQLite."""
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks, concurrent writers)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the publishes) inside a plain `db` test."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
