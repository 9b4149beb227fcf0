from __future__ import annotations

from celery import shared_task
from django.conf import settings

from supervision import rollups


@shared_task(ignore_result=True)
def reports_rollup() -> None:
    """Beat: rebuild the recent days' report rollups (idempotent: each day is replaced)."""
    rollups.rollup_recent(days=settings.SUPERVISION["REPORTS_ROLLUP_DAYS"])
