"""Celery tasks of agents. Thin: call one service."""

from __future__ import annotations

from celery import shared_task

from agents import services


@shared_task(ignore_result=True)
def presence_vacuum() -> None:
    """Beat, every PRESENCE_VACUUM_INTERVAL: keep the router's index walk short."""
    services.presence_vacuum()
