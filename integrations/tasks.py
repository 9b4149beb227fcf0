"""Webhook delivery and the sweepers that make sure nothing waits forever (a lost kick, a
worker killed mid-request, a retry coming due, a rule run whose task never ran)."""

from __future__ import annotations

import datetime as dt

from celery import current_app, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from chat.models import Site
from integrations.models import HookEvent
from integrations.services import delivery
from integrations.services.endpoints import site_hooks_refresh
from integrations.services.outbox import LANE_TASK, RULES_TASK

RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}
RULES_STALE_AFTER = 30  # seconds before the sweeper queues a rule run again


@shared_task(bind=True, ignore_result=True, **RETRY)
def webhook_lane(self, endpoint_id: int, lane: int) -> None:
    delivery.lane_run(endpoint_id=endpoint_id, lane=lane)


@shared_task(bind=True, ignore_result=True, **RETRY)
def webhook_lane_many(self, lanes: list[list[int]]) -> None:
    """Several lanes kicked together (integrations/kick.py), one after the other."""
    for endpoint_id, lane in lanes:
        delivery.lane_run(endpoint_id=endpoint_id, lane=lane)


@shared_task(ignore_result=True)
def webhooks_sweep() -> int:
    """Queue every lane with a due delivery (retries, lost kicks, expired leases)."""
    lanes = delivery.due_lanes()
    for endpoint_id, lane in lanes:
        current_app.tasks[LANE_TASK].apply_async((endpoint_id, lane), retry=False)
    stale = timezone.now() - dt.timedelta(seconds=RULES_STALE_AFTER)
    for event_id in HookEvent.objects.filter(rules_pending=True, created_at__lt=stale).values_list(
        "id", flat=True
    )[:500]:
        current_app.tasks[RULES_TASK].apply_async((event_id,), retry=False)
    return len(lanes)


@shared_task(ignore_result=True)
def hooks_repair() -> None:
    """Recompute every site's listened events (a Site saved whole from a stale copy could
    have overwritten them), and forget events past their retention."""
    for site_id in Site.objects.values_list("id", flat=True):
        site_hooks_refresh(site_id=site_id)
    delivery.prune()
