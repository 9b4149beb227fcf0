"""DATABASE_REPLICA_URL: the reports read from the replica alias, nothing else does.

The test settings' "replica" alias is a second connection to the test database (as a
streaming replica is a second server with the same rows), without a pool, closed after
the test so that nothing holds the database when the run drops it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from bots.models import Flow
from routing.models import Queue
from supervision import selectors
from supervision.models import ReportDay, VariantDay

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]
DAY = dt.date(2026, 11, 2)


@pytest.fixture
def replica(settings):
    if "replica" not in connections.settings:
        pytest.skip("a read replica is a PostgreSQL deployment's (config/test_settings.py)")
    settings.REPORTS_DATABASE = "replica"
    try:
        yield connections["replica"]
    finally:
        connections["replica"].close()


def test_reports_read_the_replica_and_not_the_primary(replica):
    queue = Queue.objects.create(name="Billing")
    ReportDay.objects.create(day=DAY, queue_id=queue.pk, conversations=3, resolved=2)
    flow = Flow.objects.create(name="Welcome")
    VariantDay.objects.create(day=DAY, flow_id=flow.pk, node="n", variant="a", sessions=4)
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
    ):
        rows = selectors.report_rows(group="queue", first=DAY, last=DAY)
        variants = selectors.variant_rows(first=DAY, last=DAY)
    assert [(r["name"], r["conversations"], r["resolved"]) for r in rows] == [("Billing", 3, 2)]
    assert [(v["flow"], v["sessions"]) for v in variants] == [("Welcome", 4)]
    assert len(on_replica.captured_queries) == 4  # two sums, two name lookups
    assert on_primary.captured_queries == []
