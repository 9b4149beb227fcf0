"""Agent presence: the console's connections and heartbeats, and the status an agent (or a
supervisor, or the router) sets. The only writers of agents.models.

Lock order: a presence row is always the last lock a transaction takes (the router locks
a conversation, then updates a presence row), so nothing here may lock a conversation
while holding a presence row. What routing does about a change (look for work for an
agent who came online, hand an absent agent's offers on) is not done here: agents sit
below routing, so the caller does it after commit (actions.agents for the console and
admin, routing itself for missed offers and the heartbeat sweep).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agents.models import (
    AWAY_REASONS,
    AgentConnection,
    AgentPresence,
    AgentProfile,
    AgentStatusChange,
    tag_list,
)
from chat import realtime, recipients
from chat.actors import Actor
from chat.exceptions import NotFound, PermissionDenied, ValidationError

logger = logging.getLogger(__name__)

Status = AgentPresence.Status
Reason = AgentPresence.Reason

MESSAGES = {
    Reason.MISSED_OFFERS: "You missed {missed} offers in a row, so you were set to away. "
    "Set yourself online to get chats again.",
    Reason.CONSOLE_LOST: "Your console was closed or lost its connection, so you were set offline.",
    Reason.SUPERVISOR: "A supervisor set your status.",
}


def heartbeat_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PARLEY["AGENT_HEARTBEAT_TIMEOUT"])


def presence_payload(presence: AgentPresence, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    message = MESSAGES.get(presence.reason, "")
    return {
        "agent": presence.user_id,
        "status": presence.status,
        "reason": presence.reason,
        "message": message.format(missed=presence.missed_in_a_row),
        "live": presence.is_live(now),
        "load": presence.load,
        "capacity": presence.capacity,
        "missed_in_a_row": presence.missed_in_a_row,
        "away_reason": presence.away_reason,
        "changed_at": presence.status_changed_at.isoformat()
        if presence.status_changed_at
        else None,
    }


def status_change_record(*, presence: AgentPresence, from_status: str, now: dt.datetime) -> None:
    """Keep the change for the floor's time in each state (no row when nothing changed)."""
    if from_status != presence.status:
        AgentStatusChange.objects.create(
            user_id=presence.user_id,
            from_status=from_status,
            status=presence.status,
            reason=presence.reason,
            at=now,
        )


def presence_publish(*, presence: AgentPresence, now: dt.datetime | None = None) -> None:
    """Tell all of the agent's consoles (after commit)."""
    realtime.publish_on_commit(
        [recipients.user_group(presence.user_id)],
        {"type": "agent.presence", "presence": presence_payload(presence, now=now)},
    )


def _profile_fields(profile: AgentProfile | None) -> dict[str, Any]:
    if profile is None:  # a superuser without a profile: may take chats, is never offered any
        return {"capacity": AgentProfile._meta.get_field("max_concurrent_chats").default}
    return {
        "profile": profile,
        "display_name": str(profile)[:120],
        "capacity": profile.max_concurrent_chats,
        "skills_tag": tag_list(profile.skills),
        "languages_tag": tag_list(profile.languages),
    }


def agent_presence_ensure(*, user) -> AgentPresence:
    """The agent's presence row, created (offline) on first use."""
    presence = AgentPresence.objects.filter(user_id=user.pk).first()
    if presence is not None:
        return presence
    profile = AgentProfile.objects.filter(user_id=user.pk).first()
    try:
        with transaction.atomic():
            return AgentPresence.objects.create(user_id=user.pk, **_profile_fields(profile))
    except IntegrityError:  # two tabs connected at once: the other one created it
        return AgentPresence.objects.get(user_id=user.pk)


def agent_profile_sync(*, user) -> AgentPresence:
    """Copy the profile's capacity, skills and languages into the presence row the router
    filters on. Called when a console connects and when admin saves a profile."""
    presence = agent_presence_ensure(user=user)
    profile = AgentProfile.objects.filter(user_id=user.pk).first()
    fields = _profile_fields(profile)
    if profile is None:
        fields["profile"] = None
    AgentPresence.objects.filter(pk=presence.pk).update(**fields)
    for name, value in fields.items():
        setattr(presence, name, value)
    return presence


@transaction.atomic
def agent_console_connect(
    *, user, channel_name: str, now: dt.datetime | None = None
) -> AgentPresence:
    """A console socket opened: the agent is live again. An agent set offline only because
    their console went away gets their previous status back; a new agent comes online."""
    now = now or timezone.now()
    agent_profile_sync(user=user)
    presence = AgentPresence.objects.select_for_update().get(user_id=user.pk)
    AgentConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"user_id": user.pk, "connected_at": now, "last_heartbeat_at": now},
    )
    presence.live_until = now + heartbeat_timeout()
    presence.last_heartbeat_at = now
    presence.console_lost_at = None
    fields = ["live_until", "last_heartbeat_at", "console_lost_at"]
    if presence.status == Status.OFFLINE and presence.reason in (Reason.NEW, Reason.CONSOLE_LOST):
        status_before = presence.status
        presence.status = presence.restore_status or Status.ONLINE
        presence.reason = Reason.CONSOLE
        presence.status_changed_at = now
        presence.missed_in_a_row = 0
        presence.idle_since = presence.idle_since or now
        fields += ["status", "reason", "status_changed_at", "missed_in_a_row", "idle_since"]
        status_change_record(presence=presence, from_status=status_before, now=now)
    presence.save(update_fields=fields)
    presence_publish(presence=presence, now=now)
    return presence


@transaction.atomic
def agent_console_disconnect(
    *, user_id: int, channel_name: str, now: dt.datetime | None = None
) -> AgentPresence | None:
    """A console socket closed. If it was the agent's last live console, the agent is
    ineligible at once and set offline; their open offers go to someone else (after
    commit). Their assigned chats wait for the queue's grace period (see the sweeper)."""
    now = now or timezone.now()
    presence = AgentPresence.objects.select_for_update().filter(user_id=user_id).first()
    AgentConnection.objects.filter(channel_name=channel_name).delete()
    if presence is None:
        return None
    others = AgentConnection.objects.filter(
        user_id=user_id, last_heartbeat_at__gt=now - heartbeat_timeout()
    ).exists()
    if others:
        return presence
    _console_lost(presence=presence, now=now, lost_at=now)
    return presence


def _console_lost(*, presence: AgentPresence, now: dt.datetime, lost_at: dt.datetime) -> None:
    """On a locked presence row: no console is left."""
    presence.live_until = min(presence.live_until or now, now)
    presence.console_lost_at = lost_at
    fields = ["live_until", "console_lost_at"]
    if presence.status != Status.OFFLINE:
        presence.restore_status = presence.status
        presence.status = Status.OFFLINE
        presence.reason = Reason.CONSOLE_LOST
        presence.status_changed_at = now
        fields += ["restore_status", "status", "reason", "status_changed_at"]
        status_change_record(presence=presence, from_status=presence.restore_status, now=now)
    presence.save(update_fields=fields)
    presence_publish(presence=presence, now=now)


def agent_heartbeat(*, user, channel_name: str, now: dt.datetime | None = None) -> AgentPresence:
    """A console ping. Two single-row updates, no lock held across them. A console the
    sweeper had given up on (a long stall) is treated as reconnecting."""
    now = now or timezone.now()
    touched = AgentConnection.objects.filter(channel_name=channel_name, user_id=user.pk).update(
        last_heartbeat_at=now
    )
    if not touched:
        return agent_console_connect(user=user, channel_name=channel_name, now=now)
    updated = AgentPresence.objects.filter(user_id=user.pk, console_lost_at__isnull=True).update(
        live_until=now + heartbeat_timeout(), last_heartbeat_at=now
    )
    if not updated:
        return agent_console_connect(user=user, channel_name=channel_name, now=now)
    return AgentPresence(user_id=user.pk)  # callers only need to know it went through


def _clean_status(status: Any) -> str:
    if status not in Status.values:
        raise ValidationError(f"status must be one of {', '.join(Status.values)}.", field="status")
    return status


@transaction.atomic
def _clean_away_reason(status: str, value: Any) -> str:
    """Why an agent is away (lunch, training…): kept only with status away, but checked
    with any status (a bad value is an error whatever it came with)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value not in dict(AWAY_REASONS):
        raise ValidationError(
            f"away_reason must be one of {', '.join(dict(AWAY_REASONS))}.", field="away_reason"
        )
    return value if status == Status.AWAY else ""


def agent_presence_set(
    *,
    actor: Actor,
    status: Any,
    user_id: int | None = None,
    now: dt.datetime | None = None,
    away_reason: Any = None,
) -> AgentPresence:
    """An agent sets their own status from the console; a supervisor may set anyone's.
    Going away or offline hands the agent's open offers to someone else; going online
    clears the missed-offers count and looks for work."""
    now = now or timezone.now()
    status = _clean_status(status)
    away_reason = _clean_away_reason(status, away_reason)
    if actor.kind != "agent":
        raise PermissionDenied("Only agents have a presence.")
    target_id = user_id if user_id is not None else actor.user.pk
    if target_id != actor.user.pk and not actor.is_supervisor:
        raise PermissionDenied("Only a supervisor sets another agent's status.")
    from django.contrib.auth import get_user_model

    target = get_user_model().objects.filter(pk=target_id).first()
    if target is None:
        raise NotFound("No such agent.")
    agent_presence_ensure(user=target)
    presence = AgentPresence.objects.select_for_update().get(user_id=target_id)
    status_before = presence.status
    presence.status = status
    presence.away_reason = away_reason
    presence.reason = Reason.MANUAL if target_id == actor.user.pk else Reason.SUPERVISOR
    presence.restore_status = status
    presence.status_changed_at = now
    if status == Status.ONLINE:
        presence.missed_in_a_row = 0
        presence.idle_since = presence.idle_since or now
    presence.save(
        update_fields=[
            "status",
            "reason",
            "restore_status",
            "status_changed_at",
            "missed_in_a_row",
            "idle_since",
            "away_reason",
        ]
    )
    status_change_record(presence=presence, from_status=status_before, now=now)
    presence_publish(presence=presence, now=now)
    return presence


def agent_account_closed(*, user_id: int, now: dt.datetime) -> AgentPresence | None:
    """An account made inactive (admin): offline, by a supervisor's word, and told to its
    consoles' presence views (already offline: left so). None if the user never had a
    presence (never an agent)."""
    presence = AgentPresence.objects.select_for_update().filter(user_id=user_id).first()
    # Its consoles are being closed (session.ended): none of them counts as live any more.
    AgentConnection.objects.filter(user_id=user_id).delete()
    if presence is None or presence.status == Status.OFFLINE:
        return presence
    status_before = presence.status
    presence.status = presence.restore_status = Status.OFFLINE
    presence.reason = Reason.SUPERVISOR
    presence.away_reason = ""
    presence.status_changed_at = now
    presence.save(
        update_fields=["status", "restore_status", "reason", "away_reason", "status_changed_at"]
    )
    status_change_record(presence=presence, from_status=status_before, now=now)
    presence_publish(presence=presence, now=now)
    return presence


def agent_miss_record(*, user_id: int, now: dt.datetime) -> AgentPresence | None:
    """Count a missed offer (inside the expiry's transaction, the presence row last).
    After AGENT_MAX_MISSED_OFFERS in a row the agent is set away and told why; the
    presence is returned then (the caller hands the agent's other offers on), else None."""
    AgentPresence.objects.filter(user_id=user_id).update(missed_in_a_row=F("missed_in_a_row") + 1)
    limit = settings.PARLEY["AGENT_MAX_MISSED_OFFERS"]
    went_away = AgentPresence.objects.filter(
        user_id=user_id, status=Status.ONLINE, missed_in_a_row__gte=limit
    ).update(status=Status.AWAY, reason=Reason.MISSED_OFFERS, status_changed_at=now)
    if not went_away:
        return None
    presence = AgentPresence.objects.get(user_id=user_id)
    status_change_record(presence=presence, from_status=Status.ONLINE, now=now)
    presence_publish(presence=presence, now=now)
    return presence


def agent_presence_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Heartbeat loss: consoles silent for AGENT_HEARTBEAT_TIMEOUT are dropped, and an
    agent with no live console left is set offline (a closed tab whose socket never said
    goodbye, a dead network, a crashed server process). Returns the agents set offline
    (each committed already; the caller hands their offers on)."""
    now = now or timezone.now()
    AgentConnection.objects.filter(last_heartbeat_at__lte=now - heartbeat_timeout()).delete()
    lost = list(
        AgentPresence.objects.filter(console_lost_at__isnull=True)
        .exclude(live_until__gt=now)
        .values_list("user_id", flat=True)[:limit]
    )
    gone: list[int] = []
    for user_id in lost:
        with transaction.atomic():
            presence = (
                AgentPresence.objects.select_for_update()
                .filter(user_id=user_id, console_lost_at__isnull=True)
                .exclude(live_until__gt=now)
                .first()
            )
            if presence is None:  # a heartbeat came in meanwhile
                continue
            _console_lost(presence=presence, now=now, lost_at=presence.live_until or now)
            gone.append(user_id)
    return gone


def presence_vacuum() -> bool:
    """VACUUM the presence table (PostgreSQL; a no-op elsewhere). Returns whether it ran.

    Every offer, accept and release rewrites an agent's presence row and moves its entry
    in agents_presence_routing_idx, whose front (the least occupied agents) is where every
    decision starts its walk; dead entries pile up exactly there. Measured in
    bench/routing_sim.py after an hour without vacuum (autovacuum off): the candidate
    query walked 365 buffers for 10 rows, 2.7 ms instead of 0.15 ms. Autovacuum wakes
    once a minute at best and may be off, so beat runs this every PRESENCE_VACUUM_INTERVAL;
    on a table of a few thousand rows it takes milliseconds and blocks no reader or
    writer. Runs outside any transaction, as VACUUM must."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {AgentPresence._meta.db_table}")
    return True
