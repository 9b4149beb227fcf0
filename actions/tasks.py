"""Celery tasks of the top layer: an event's automation rules (actions.rules)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from actions import rules


@shared_task(
    bind=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def rules_run(self, event_id: int) -> None:
    rules.rules_run(event_id=event_id)
