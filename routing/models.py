"""Routing state: queues, queue entries (one per stay of a conversation in a queue) and
reservations (offers to an agent). The router's decisions are recorded on the
conversation's timeline (chat.ConversationEvent, type ``routing.decision``).

No side effects in save(): state changes go through routing.services.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from chat.model_checks import language_tag, seconds_after, word_list
from chat.models import Conversation, ModerationPolicy

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def validate_business_hours(value) -> None:
    """``{"mon": [["09:00", "17:30"]], ...}``; a missing day is closed; ``{}`` is 24/7.
    Every problem is listed at once."""
    if value in (None, {}):
        return
    if not isinstance(value, dict):
        raise ValidationError('Business hours are an object like {"mon": [["09:00", "17:00"]]}.')
    problems = []
    for day, spans in value.items():
        if day not in DAYS:
            problems.append(f"Unknown day {day!r}; use one of {', '.join(DAYS)}.")
            continue
        if not isinstance(spans, list):
            problems.append(f"{day}: a list of [start, end] pairs.")
            continue
        for span in spans:
            if (
                not isinstance(span, (list, tuple))
                or len(span) != 2
                or not all(isinstance(t, str) and _HHMM.fullmatch(t) for t in span)
            ):
                problems.append(f'{day}: each span is ["HH:MM", "HH:MM"].')
            elif _minutes(span[0]) >= _minutes(span[1]):
                problems.append(f"{day}: {span[0]} is not before {span[1]}.")
    if problems:
        raise ValidationError(problems)


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r}.") from exc


def _between(low: int, high: int, unit: str = "") -> list:
    """Bounds a form refuses with a message that says them (README, "Queues")."""
    message = f"Between {low:,} and {high:,}{unit}."
    return [MinValueValidator(low, message), MaxValueValidator(high, message)]


DAY = 86_400
# The same notion as a conversation's priority over the API (-100..100).
PRIORITY = _between(-100, 100)
SLA = _between(1, 30 * DAY, " seconds (30 days)")
OFFER_TIMEOUT = _between(5, 600, " seconds")
# A silence, a lost console: at most a day, the longest anyone waits on a chat's clock.
SILENCE = _between(5, DAY, " seconds (a day)")
GRACE = _between(0, DAY, " seconds (a day)")
MAX_WAITING = _between(0, 100_000)


def validate_tags(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError('A list of names, e.g. ["billing"].')


class Queue(models.Model):
    """Where conversations wait for an agent, with the rules of that wait."""

    class LimitMode(models.TextChoices):
        NONE = "none", "No limit"
        FIXED = "fixed", "Fixed: at most max_waiting"
        DYNAMIC = "dynamic", "Dynamic (Little's law): serving rate x SLA target"

    name = models.CharField(max_length=120, unique=True)
    priority = models.SmallIntegerField(
        default=0,
        validators=PRIORITY,
        help_text="Higher is served first (between queues sharing agents); -100 to 100.",
    )
    is_active = models.BooleanField(default=True)
    required_skills = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_tags],
        help_text='Agents need all of these, e.g. ["billing"].',
    )
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text="Agents must speak it: a language tag (e.g. fr, pt-BR); empty for any.",
    )
    sla_seconds = models.PositiveIntegerField(
        default=120,
        validators=SLA,
        help_text="SLA target: the longest acceptable wait, in seconds (1 s to 30 days).",
    )
    offer_timeout_seconds = models.PositiveIntegerField(
        default=20,
        validators=OFFER_TIMEOUT,
        help_text="How long an agent has to accept an offer (5 to 600 seconds).",
    )
    silence_nudge_seconds = models.PositiveIntegerField(
        default=180,
        validators=SILENCE,
        help_text="A customer silent this long in an assigned chat: the console offers the "
        "agent a one-click 'Are you still there?' (5 s to a day).",
    )
    silence_close_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=120,
        validators=SILENCE,
        help_text="Customer-left policy: after 'Are you still there?', a customer silent "
        "this long has left and the chat is resolved (5 s to a day); empty keeps it open.",
    )
    limit_mode = models.CharField(
        max_length=8, choices=LimitMode.choices, default=LimitMode.DYNAMIC
    )
    max_waiting = models.PositiveIntegerField(
        default=50,
        validators=MAX_WAITING,
        help_text="The limit on waiting conversations when the limit is fixed (0 to 100,000; "
        "fixed at 0 is closed to new live chats, as the floor's Close makes it).",
    )
    # What the floor's Close replaced, for Open to put back (routing.services.queue_close);
    # empty while the queue is not closed from the floor.
    reopen_limit_mode = models.CharField(
        max_length=8,
        choices=LimitMode.choices,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )
    reopen_max_waiting = models.PositiveIntegerField(null=True, blank=True, editable=False)
    business_hours = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_business_hours],
        help_text='e.g. {"mon": [["09:00", "17:30"]], "tue": …}; a missing day is closed; '
        "empty means always open.",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    agent_lost_grace_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=120,
        validators=GRACE,
        help_text="When an agent's console is gone, their conversations go back to the queue "
        "after this many seconds (0 to a day); empty keeps them with the agent.",
    )
    moderation_policy = models.CharField(
        max_length=8,
        choices=ModerationPolicy.choices,
        blank=True,
        default="",
        help_text="Profanity in this queue's conversations; empty follows the site's policy "
        "(e.g. block in a queue for minors, flag in a VIP queue).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        language = (self.language or "").strip()
        self.language = language_tag(language, "language") if language else ""
        skills = word_list(self.required_skills or [], "required_skills")
        self.required_skills = sorted({s.strip().lower() for s in skills})

    def sla_due(self, start: dt.datetime) -> dt.datetime:
        """When a wait that began at ``start`` passes the SLA (never an overflow, whatever
        a row holds: the bounds above are checked by forms, not by the database)."""
        return seconds_after(start, self.sla_seconds)

    @property
    def closed_to_new(self) -> bool:
        """Closed to new live chats by a supervisor (the floor's Close: a fixed waiting
        limit of 0): a new arrival gets the offline fallback even with an agent free, and
        is not offered until the queue opens again (decision._arrived_while_closed), while
        the conversations already waiting are still served."""
        return self.limit_mode == self.LimitMode.FIXED and self.max_waiting == 0

    def is_open(self, now: dt.datetime) -> bool:
        if not self.business_hours:
            return True
        local = now.astimezone(zoneinfo.ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        spans = self.business_hours.get(DAYS[local.weekday()], [])
        return any(_minutes(a) <= minute < _minutes(b) for a, b in spans)

    def next_opening(self, now: dt.datetime) -> dt.datetime | None:
        """When the queue next opens (None if always open or never)."""
        if not self.business_hours:
            return None
        zone = zoneinfo.ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        for days_ahead in range(8):
            day = local.date() + dt.timedelta(days=days_ahead)
            for start, _end in sorted(self.business_hours.get(DAYS[day.weekday()], [])):
                minutes = _minutes(start)
                opening = dt.datetime.combine(
                    day, dt.time(minutes // 60, minutes % 60), tzinfo=zone
                )
                if opening > local:
                    return opening.astimezone(dt.UTC)
        return None


class QueueEntry(models.Model):
    """One stay of a conversation in a queue, from enqueue to assignment (or abandon).

    At most one entry per conversation is open (waiting or offered); the partial unique
    constraint backs that up. Every write to an entry happens under the conversation's
    row lock.
    """

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered"
        ASSIGNED = "assigned", "Assigned"
        ABANDONED = "abandoned", "Abandoned"
        CANCELLED = "cancelled", "Left the queue"

    class Mode(models.TextChoices):
        LIVE = "live", "Live chat"
        OFFLINE = "offline", "Offline message (answered later)"

    class Via(models.TextChoices):
        OFFER = "offer", "Accepted offer"
        TAKE = "take", "Taken from the waiting list"
        TRANSFER = "transfer", "Transferred"
        REASSIGN = "reassign", "Reassigned by a supervisor"

    OPEN_STATES = (State.WAITING, State.OFFERED)

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="queue_entries"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="entries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.LIVE)
    mode_reason = models.CharField(max_length=40, blank=True)
    priority = models.SmallIntegerField(default=0)
    queue_priority = models.SmallIntegerField(default=0)
    skills = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True, help_text="A transfer note for the next agent.")
    enqueued_at = models.DateTimeField()
    sla_due_at = models.DateTimeField()
    sticky_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An agent who just handed it over is not offered it straight back.
    excluded_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    offers = models.PositiveSmallIntegerField(default=0)
    first_offered_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=10, choices=Via.choices, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the entry left the queue, or its chat ended."
    )
    # The first estimate the customer was shown, kept to measure the ETA's error.
    eta_seconds = models.FloatField(null=True, blank=True)
    position_at_enqueue = models.PositiveIntegerField(null=True, blank=True)
    last_nobody_reason = models.CharField(max_length=80, blank=True)
    last_routed_at = models.DateTimeField(null=True, blank=True)
    # Back in line after being served (its agent left, went silent, or passed it on): not
    # a new chat, so a supervisor's Close and the waiting limit, which admit new chats,
    # never turn it into an offline message (decision._arrived_while_closed).
    returning = models.BooleanField(default=False, db_default=False)

    class Meta:
        verbose_name_plural = "queue entries"
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(state__in=["waiting", "offered"]),
                name="queueentry_one_open_per_conversation",
            )
        ]
        indexes = [
            models.Index(fields=["state", "queue", "mode", "enqueued_at"]),
            models.Index(fields=["queue", "assigned_at"]),
            models.Index(fields=["conversation", "assigned_at"]),
            # The floor dashboard's last hour of arrivals, and the reports' day of entries.
            models.Index(fields=["enqueued_at"], name="queueentry_enqueued_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.conversation_id} in {self.queue_id} ({self.state})"

    @property
    def wait_seconds(self) -> float | None:
        end = self.assigned_at or self.first_offered_at
        return (end - self.enqueued_at).total_seconds() if end else None


class Reservation(models.Model):
    """An offer of one conversation to one agent, who accepts or declines it in time.

    One open offer per conversation (partial unique constraint); accepting is a
    conditional update from ``offered``, so exactly one acceptance can win.
    """

    class State(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    entry = models.ForeignKey(QueueEntry, on_delete=models.CASCADE, related_name="reservations")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="reservations"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OFFERED)
    attempt = models.PositiveSmallIntegerField(default=1)
    sticky = models.BooleanField(default=False)
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(state="offered"),
                name="reservation_one_open_per_conversation",
            )
        ]
        indexes = [
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["agent", "state"]),
            models.Index(fields=["entry", "agent"]),
        ]

    def __str__(self) -> str:
        return f"offer #{self.pk}: conversation {self.conversation_id} to {self.agent_id}"


class RoutedConversation(Conversation):
    """Conversations as supervisors manage them in admin (reassign, requeue, resolve)."""

    class Meta:
        proxy = True
        verbose_name = "conversation (routing)"
        verbose_name_plural = "conversations (routing)"
