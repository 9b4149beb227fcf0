"""Agents: who they are (profile) and whether they can take a chat right now (presence).

The profile is configuration, edited in admin. Presence is hot state, written by services
on every heartbeat, offer and assignment; it lives in its own table so that saving a
profile form can never overwrite a counter with a stale value.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import OrderBy
from django.db.models.functions import Cast

from chat.model_checks import language_tags, word_list

# A canned reply's shortcut, typed after "/" in the console: the console's service
# (agents.canned) and admin's form check the same thing.
SHORTCUT_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
SHORTCUT_MESSAGE = "A shortcut is 1-32 letters, digits, - or _ (e.g. refund)."


class AgentProfile(models.Model):
    """A human agent: skills, languages, capacity and the queues they serve."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    display_name = models.CharField(max_length=120, blank=True)
    languages = models.JSONField(
        default=list, blank=True, help_text='Language tags, e.g. ["en", "fr", "pt-BR"]'
    )
    skills = models.JSONField(default=list, blank=True, help_text='e.g. ["billing"]')
    # An agent who should take no chat is set away, or taken out of the queues.
    max_concurrent_chats = models.PositiveSmallIntegerField(
        default=3,
        validators=[
            MinValueValidator(1, "Between 1 and 100."),
            MaxValueValidator(100, "Between 1 and 100."),
        ],
        help_text="Chats at once, offers included (1 to 100).",
    )
    queues = models.ManyToManyField("routing.Queue", blank=True, related_name="agents")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name or self.user.get_full_name() or self.user.get_username()

    @property
    def language(self) -> str:
        return self.languages[0] if self.languages else "en"

    def clean(self) -> None:
        # Matched against a queue's language, which is a tag too (routing.models.Queue).
        self.languages = language_tags(self.languages, "languages")
        word_list(self.skills, "skills")


def tag_list(values) -> str:
    """ ",billing,vip,": a portable way to ask "has skill X" with LIKE on PostgreSQL and
    SQLite alike (JSON containment is PostgreSQL only)."""
    cleaned = sorted({str(v).strip().lower() for v in (values or []) if str(v).strip()})
    return "," + ",".join(cleaned) + "," if cleaned else ","


class RoutingIndex(models.Index):
    """The router's ranking index. SQLite sorts NULLs first in ascending order already and
    rejects NULLS FIRST in an index, so there it is left out."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        index = self
        if schema_editor.connection.vendor == "sqlite":
            expressions = [
                OrderBy(e.expression) if isinstance(e, OrderBy) else e for e in self.expressions
            ]
            index = models.Index(*expressions, name=self.name, condition=self.condition)
        return models.Index.create_sql(index, model, schema_editor, using=using, **kwargs)


AWAY_REASONS = [
    ("lunch", "Lunch"),
    ("break", "Break"),
    ("training", "Training"),
    ("meeting", "Meeting"),
    ("other", "Other"),
]


class AgentPresence(models.Model):
    """An agent's live state, as the router sees it.

    Eligible for a new offer = ``status == online`` and ``live_until > now`` (a console
    heartbeat arrived recently) and ``load < capacity``. ``load`` counts the agent's
    assigned open conversations plus their open offers; it only changes by conditional
    updates (``load < capacity``), so no two routers can push an agent over capacity.
    """

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    class Reason(models.TextChoices):
        NEW = "new", "Never set"
        MANUAL = "manual", "Set by the agent"
        SUPERVISOR = "supervisor", "Set by a supervisor"
        CONSOLE = "console", "Console connected"
        MISSED_OFFERS = "missed_offers", "Missed offers in a row"
        CONSOLE_LOST = "console_lost", "Console closed or silent"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    profile = models.OneToOneField(
        AgentProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="presence"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OFFLINE)
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.NEW)
    # What a console coming back restores after an automatic "offline" (console lost).
    restore_status = models.CharField(max_length=8, choices=Status.choices, default=Status.ONLINE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Heartbeats push this forward; the router only offers to agents whose console is live.
    live_until = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the last console went away (closed or silent); cleared when one comes back.
    console_lost_at = models.DateTimeField(null=True, blank=True)
    display_name = models.CharField(max_length=120, blank=True)  # copied for decisions
    load = models.PositiveSmallIntegerField(default=0)
    capacity = models.PositiveSmallIntegerField(default=3)
    skills_tag = models.CharField(max_length=500, default=",")
    languages_tag = models.CharField(max_length=200, default=",")
    missed_in_a_row = models.PositiveSmallIntegerField(default=0)
    # Why an agent set themselves away (lunch, training…): shown to supervisors; empty
    # otherwise. Any other status clears it.
    away_reason = models.CharField(max_length=16, blank=True, choices=AWAY_REASONS)
    # Free capacity since: among equally occupied agents, the earliest wins (idle longest).
    idle_since = models.DateTimeField(null=True, blank=True)
    last_offer_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "agent presence"
        indexes = [
            # The router's ranking (routing/services/sql.py) walks this in order and stops
            # at the first few members of the queue: only online agents with a free slot
            # are in it, so a busy floor does not slow a decision down. It replaced an
            # index on (status, live_until): presence changes all day, its statistics are
            # always stale, and on them the planner took that index and scanned every
            # online agent for every decision (4 ms instead of 0.3 ms at 2,000 agents).
            RoutingIndex(
                Cast("load", models.FloatField()) / F("capacity"),
                "load",
                OrderBy(F("idle_since"), nulls_first=True),
                "user_id",
                name="agents_presence_routing_idx",
                condition=Q(status="online", load__lt=F("capacity")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"

    def is_live(self, now) -> bool:
        return self.live_until is not None and self.live_until > now

    def is_available(self, now) -> bool:
        return self.status == self.Status.ONLINE and self.is_live(now) and self.load < self.capacity


class AgentConnection(models.Model):
    """One open console socket. Several tabs make several rows; the agent is live while
    any of them heartbeats. Rows of a process that died are removed by the sweeper."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_connections"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "last_heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.channel_name}"


class AgentStatusChange(models.Model):
    """One change of an agent's status, written by the service that made it: the floor
    dashboard adds up each agent's time in each state from these (a day's few rows)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    from_status = models.CharField(max_length=8)
    status = models.CharField(max_length=8)
    reason = models.CharField(max_length=16)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["at"], name="agents_statuschange_at_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.from_status} → {self.status}"


# Admin said "Constraint “canned_unique_global” is violated." for a duplicate shortcut.
TAKEN = "This shortcut is already taken among %s."


class CannedReply(models.Model):
    """A saved reply an agent inserts with ``/shortcut``: shared (no owner: for one site, or
    every site without one) or personal (an owner). Variables in the body
    (``{{customer.name}}``, ``{{agent.name}}``, ``{{order_number}}`` for a field the bot
    collected) are filled in by the console when it is inserted."""

    shortcut = models.CharField(
        max_length=32,
        validators=[RegexValidator(SHORTCUT_RE, SHORTCUT_MESSAGE)],
        help_text="Typed after a slash: letters, digits, - and _ (e.g. refund).",
    )
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField()
    site = models.ForeignKey(
        "chat.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: every site.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        help_text="Empty: shared with every agent; set: this agent's own.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "canned replies"
        ordering = ["shortcut", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "site", "shortcut"],
                condition=Q(owner__isnull=False, site__isnull=False),
                name="canned_unique_personal_site",
                violation_error_message=TAKEN % "this agent's replies for this site",
            ),
            models.UniqueConstraint(
                fields=["owner", "shortcut"],
                condition=Q(owner__isnull=False, site__isnull=True),
                name="canned_unique_personal",
                violation_error_message=TAKEN % "this agent's replies for every site",
            ),
            models.UniqueConstraint(
                fields=["site", "shortcut"],
                condition=Q(owner__isnull=True, site__isnull=False),
                name="canned_unique_site",
                violation_error_message=TAKEN % "the shared replies of this site",
            ),
            models.UniqueConstraint(
                fields=["shortcut"],
                condition=Q(owner__isnull=True, site__isnull=True),
                name="canned_unique_global",
                violation_error_message=TAKEN % "the shared replies for every site",
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"

    def clean(self) -> None:
        limit = settings.PARLEY["MESSAGE_MAX_CHARS"]
        if self.body and len(self.body) > limit:
            raise ValidationError({"body": f"At most {limit:,} characters (MESSAGE_MAX_CHARS)."})
