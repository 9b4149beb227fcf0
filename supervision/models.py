"""Supervision's own tables: the reports' daily rollups (kept by Celery, so a report sums
a few hundred rows instead of scanning messages) and the status page's incidents."""

from __future__ import annotations

from django.db import models


class ReportDay(models.Model):
    """One day's figures for one (site, queue, agent); 0 stands for "none" (a conversation
    the bot kept, or one never assigned). Sums and counts, never averages, so any range
    and any grouping adds up exactly. Rebuilt a whole day at a time (idempotent)."""

    day = models.DateField()
    site_id = models.BigIntegerField(default=0)
    queue_id = models.BigIntegerField(default=0)
    agent_id = models.BigIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)
    first_response_count = models.PositiveIntegerField(default=0)
    first_response_seconds = models.FloatField(default=0)
    handle_count = models.PositiveIntegerField(default=0)
    handle_seconds = models.FloatField(default=0)
    sla_count = models.PositiveIntegerField(default=0)
    sla_met = models.PositiveIntegerField(default=0)
    bot_count = models.PositiveIntegerField(default=0)
    bot_contained = models.PositiveIntegerField(default=0)
    csat_count = models.PositiveIntegerField(default=0)
    csat_sum = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "site_id", "queue_id", "agent_id"], name="reportday_unique_site_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} s{self.site_id} q{self.queue_id} a{self.agent_id}"


class VariantDay(models.Model):
    """One day's bot sessions that were shown a flow's variant, and how many converted."""

    day = models.DateField()
    flow_id = models.BigIntegerField()
    node = models.CharField(max_length=64)
    variant = models.CharField(max_length=64)
    sessions = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "flow_id", "node", "variant"], name="variantday_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.node}/{self.variant}"


class Incident(models.Model):
    """An incident a supervisor enters in admin; open ones show on the status page and make
    the widget show a notice."""

    class Impact(models.TextChoices):
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    site = models.ForeignKey(
        "chat.Site",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: every site's status page shows it.",
    )
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True, help_text="Shown on the public status page.")
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.DEGRADED)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVESTIGATING)
    components = models.JSONField(
        default=list,
        blank=True,
        help_text='Affected components, e.g. ["chat", "translation"]; empty for Parley as a whole.',
    )
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["resolved_at", "started_at"])]

    def __str__(self) -> str:
        return self.title
