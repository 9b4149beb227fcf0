"""Starting the router: now, inline, or on a Celery worker (ROUTING_DISPATCH=celery), for
one waiting entry or for an agent who gained a free slot. Never raises: a failure leaves
the entry waiting, and the sweeper routes it."""

from __future__ import annotations

import datetime as dt

from celery import current_app
from django.conf import settings
from django.utils import timezone

from agents.models import AgentPresence
from routing import selectors
from routing.models import Queue, QueueEntry, Reservation
from routing.services.core import logger
from routing.services.decision import route_entry

WAITING = QueueEntry.State.WAITING
# By name: the task module imports the services, not the other way round (the tasks are
# registered in every process by RoutingConfig.ready).
ROUTE_ENTRY_TASK = "routing.tasks.route_entry_task"
ROUTE_AGENT_TASK = "routing.tasks.route_agent_task"


def router_kick_entry(*, entry_id: int, now: dt.datetime | None = None) -> None:
    """Route one entry now (inline) or on a Celery worker (ROUTING_DISPATCH=celery). Never
    raises: a failure here leaves the entry waiting, and the sweeper routes it."""
    try:
        if settings.PARLEY["ROUTING_DISPATCH"] == "celery":
            current_app.tasks[ROUTE_ENTRY_TASK].delay(entry_id)
        else:
            route_entry(entry_id=entry_id, now=now)
    except Exception:
        logger.exception("routing entry %s failed; the sweeper will retry", entry_id)


def router_kick_agent(*, user_id: int, now: dt.datetime | None = None) -> None:
    """An agent gained free capacity: look for work for them (never raises)."""
    try:
        if settings.PARLEY["ROUTING_DISPATCH"] == "celery":
            current_app.tasks[ROUTE_AGENT_TASK].delay(user_id)
        else:
            route_for_agent(user_id=user_id, now=now)
    except Exception:
        logger.exception("routing for agent %s failed; the sweeper will retry", user_id)


# --- an agent gained capacity ------------------------------------------------------------------
def route_for_agent(
    *, user_id: int, now: dt.datetime | None = None, max_offers: int = 10, scan: int = 50
) -> int:
    """Offer the best waiting conversations this agent is eligible for (priority, urgency,
    arrival), while they have free slots. Each offer is an ordinary decision (the best
    agent for that conversation wins, which may be someone else). Returns offers made."""
    now = now or timezone.now()
    made = 0
    for _ in range(max_offers):
        presence = AgentPresence.objects.filter(user_id=user_id).first()
        if presence is None or presence.profile_id is None or not presence.is_available(now):
            return made
        queues = {
            q.pk: q for q in Queue.objects.filter(agents__pk=presence.profile_id, is_active=True)
        }
        open_ids = [pk for pk, q in queues.items() if q.is_open(now)]
        if not open_ids:
            return made
        rows = list(
            QueueEntry.objects.filter(state=WAITING, queue_id__in=open_ids)
            .order_by(*selectors.ENTRY_ORDER)
            .values("id", "skills", "language", "excluded_agent_id")[:scan]
        )
        skills = set(presence.skills_tag.strip(",").split(",")) - {""}
        languages = set(presence.languages_tag.strip(",").split(",")) - {""}
        since = now - dt.timedelta(seconds=settings.PARLEY["ROUTING_RETRY_AGENT_AFTER"])
        refused = set(
            Reservation.objects.filter(
                agent_id=user_id,
                entry_id__in=[r["id"] for r in rows],
                state__in=[Reservation.State.DECLINED, Reservation.State.EXPIRED],
                decided_at__gte=since,
            ).values_list("entry_id", flat=True)
        )
        offered = False
        for row in rows:
            if (
                row["id"] in refused
                or row["excluded_agent_id"] == user_id
                or not set(row["skills"]) <= skills
                or (row["language"] and row["language"] not in languages)
            ):
                continue
            decision = route_entry(entry_id=row["id"], now=now, skip_locked=True)
            if decision.outcome == "offered":
                made += 1
                offered = True
                break
        if not offered:
            return made
    return made
