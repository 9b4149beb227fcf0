"""Parley's public status: each component up, degraded or down, and the incidents a
supervisor enters in admin. The status page runs the health checks; the widget's notice
(its ``hello`` and its REST session) reads only open incidents (started, not resolved),
cached per process for ``NOTICE_TTL`` seconds, so a widget connecting costs one dictionary
lookup almost always."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from chat.models import Site
from supervision import health
from supervision.models import Incident

# Public components, and the checks each one depends on (supervision.health).
COMPONENTS: dict[str, dict[str, Any]] = {
    "chat": {"label": "Live chat", "checks": ("database", "redis", "migrations")},
    "routing": {"label": "Routing to agents", "checks": ("beat",)},
    "processing": {"label": "Translation and moderation", "checks": ("worker",)},
}
RANK = {"up": 0, "degraded": 1, "down": 2}
NOTICE_TTL = 15.0
MESSAGES = {
    "degraded": "Some of our chat service is slower than usual; replies may take longer.",
    "down": "Our chat service has a problem right now; we are working on it.",
}


def _worst(*states: str) -> str:
    return max(states, key=RANK.__getitem__, default="up")


def open_incidents(*, site: Site | None, now: dt.datetime | None = None) -> list[Incident]:
    """The incidents in force now: started (an incident entered ahead, *Started at* in the
    future, shows from that moment, not before: nothing describes an advance notice) and
    not yet resolved (a *Resolved at* still to come ends it then)."""
    now = now or timezone.now()
    scope = Q(site__isnull=True) | Q(site=site) if site is not None else Q(site__isnull=True)
    in_force = Q(started_at__lte=now) & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=now))
    return list(Incident.objects.filter(scope, in_force).order_by("-started_at"))


def _incident_payload(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "title": incident.title,
        "message": incident.message,
        "impact": incident.impact,
        "status": incident.status,
        "components": incident.components,
        "started_at": incident.started_at.isoformat(),
    }


def components_state(checks: dict[str, dict], incidents: list[Incident]) -> dict[str, dict]:
    """Each public component from its checks, made worse by any open incident naming it
    (or naming none: Parley as a whole)."""
    out = {}
    for name, spec in COMPONENTS.items():
        state = _worst(*(checks[c]["state"] for c in spec["checks"] if c in checks))
        for incident in incidents:
            if not incident.components or name in incident.components:
                state = _worst(state, incident.impact)
        out[name] = {"label": spec["label"], "state": state}
    return out


def overall_state(components: dict[str, dict]) -> str:
    """The page's one word: ``down`` only when customers cannot chat (the ``chat``
    component is down); routing or processing down alone is ``degraded``, as on /healthz
    (a dead worker or beat makes chat slower, not impossible)."""
    chat = components["chat"]["state"]
    others = [c["state"] for name, c in components.items() if name != "chat"]
    return _worst(chat, *("degraded" for state in others if state != "up"))


async def status_page(*, site: Site | None) -> dict[str, Any]:
    """What the public status page shows (runs the health checks)."""
    checks = await health.run_checks()
    try:
        incidents = await _open_incidents_async(site)
    except (OperationalError, InterfaceError):
        # The database is down: the page still answers (its checks say so), without the
        # incidents it cannot read. It was a 500 page in a fault probe.
        incidents = []
    components = components_state(checks, incidents)
    return {
        "site": site.name if site else None,
        "state": overall_state(components),
        "components": components,
        "incidents": [_incident_payload(i) for i in incidents],
    }


async def _open_incidents_async(site: Site | None) -> list[Incident]:
    return await sync_to_async(open_incidents)(site=site)


# --- the widget's notice --------------------------------------------------------------------
# The widget follows the incidents supervisors declare, not the automatic checks: a
# customer is never alarmed by a monitoring glitch (a worker restarting, a late
# heartbeat), and what they read is what the staff chose to say. Staff see the checks
# live on /healthz, the status page and the floor dashboard.
_notices: dict[int | None, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def notice_cache_clear() -> None:
    with _lock:
        _notices.clear()


def widget_notice(*, site_id: int | None) -> dict[str, Any]:
    """``{"state", "message"}`` for a site's widget: ``up`` with an empty message, or the
    worst open incident's impact and the text to show. Cached per process for NOTICE_TTL
    seconds (an incident shows within that)."""
    now = time.monotonic()
    with _lock:
        cached = _notices.get(site_id)
        if cached is not None and cached[0] > now:
            return cached[1]
    site = Site.objects.filter(pk=site_id).first() if site_id else None
    incidents = open_incidents(site=site)
    state = _worst(*(i.impact for i in incidents))
    message = ""
    if incidents:
        worst = max(incidents, key=lambda i: RANK[i.impact])
        message = worst.message or MESSAGES[state]
    notice = {"state": state, "message": message}
    with _lock:
        _notices[site_id] = (now + NOTICE_TTL, notice)
    return notice
