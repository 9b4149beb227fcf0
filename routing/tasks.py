"""Celery tasks of routing. Thin: take ids, call one service. The timers are state in the
database swept by beat, so a worker restarted mid-offer loses nothing."""

from __future__ import annotations

from celery import shared_task

from routing import services


@shared_task(ignore_result=True)
def routing_sweep() -> None:
    """Beat, every ROUTING_SWEEP_INTERVAL: expire due offers, route waiting conversations,
    refresh queue positions."""
    services.routing_sweep()


@shared_task(ignore_result=True)
def routing_timers() -> None:
    """Beat, every ROUTING_TIMERS_INTERVAL: heartbeat loss, agent grace periods,
    abandoned queues, customers who left, repairs and the load check."""
    services.timers_sweep()


# Idempotent (a decision re-checks state under the row lock), so a redelivery is harmless.
@shared_task(ignore_result=True, acks_late=True)
def route_entry_task(entry_id: int) -> None:
    services.route_entry(entry_id=entry_id)


@shared_task(ignore_result=True, acks_late=True)
def route_agent_task(user_id: int) -> None:
    services.route_for_agent(user_id=user_id)
