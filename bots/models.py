"""Bot qualification flows: versioned graphs, per-conversation sessions, learning variants.

A Flow holds an editable draft graph (JSON, validated by bots.graph_validation on every save).
Publishing freezes the draft into an immutable FlowVersion; a conversation's BotSession
points at the version it started with, so editing or republishing never changes a
running conversation. No side effects in save(): state changes go through bots.services.
"""

from __future__ import annotations

from django.db import models


class Flow(models.Model):
    class Goal(models.TextChoices):
        LEAD_CAPTURED = "lead_captured", "Lead captured (an email or phone collected)"
        RESOLVED = "resolved_without_agent", "Resolved without an agent"

    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=80, unique=True, help_text="Stable name used by export and import."
    )
    description = models.TextField(blank=True)
    goal = models.CharField(
        max_length=32,
        choices=Goal.choices,
        default=Goal.LEAD_CAPTURED,
        help_text="What counts as a conversion for the variants' Thompson sampling.",
    )
    draft = models.JSONField(default=dict, blank=True, help_text="The graph being edited.")
    published_version = models.ForeignKey(
        "FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """A published, immutable copy of a flow's graph."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    published_by = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flowversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.flow.name} v{self.number}"


class BotSession(models.Model):
    """Where one conversation is in its flow. Updated under the conversation's row lock, in
    the same transaction as the customer's message, so a restart loses nothing."""

    class State(models.TextChoices):
        ACTIVE = "active"
        HANDED_OFF = "handed_off"
        ENDED = "ended"

    conversation = models.OneToOneField(
        "chat.Conversation", on_delete=models.CASCADE, related_name="bot_session"
    )
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="sessions")
    bot_participant = models.ForeignKey(
        "chat.Participant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The bot who speaks in this conversation (saves a lookup per step).",
    )
    node = models.CharField(max_length=64, help_text="The node waiting for the customer.")
    # What the current node waits for: "" (nothing), "answer", "clarify" or "csat".
    awaiting = models.CharField(max_length=16, blank=True)
    retries = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    attributes = models.JSONField(default=dict, blank=True, help_text="What the bot collected.")
    tags = models.JSONField(default=list, blank=True)
    intent = models.CharField(max_length=64, blank=True)
    # {node id: variant id} picked once per session; converted when the goal is reached.
    variants = models.JSONField(default=dict, blank=True)
    path = models.JSONField(default=list, blank=True, help_text="Nodes visited, in order.")
    steps = models.PositiveIntegerField(default=0)
    goal_reached_at = models.DateTimeField(null=True, blank=True)
    lead_captured_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"bot session of #{self.conversation_id} at {self.node}"


class VariantStat(models.Model):
    """Per-variant counts for Thompson sampling, per flow (kept across versions, so a
    republished flow keeps what it learned about a variant with the same ids)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="variant_stats")
    node = models.CharField(max_length=64)
    variant = models.CharField(max_length=64)
    shown = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["flow", "node", "variant"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "node", "variant"], name="variantstat_unique_variant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.node}/{self.variant}"

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.shown if self.shown else None
