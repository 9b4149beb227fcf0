"""Conversation core: sites, customers, conversations, participants, messages, timeline.

No side effects in save(): state changes go through chat.services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# API keys, quota notices and idempotency records live in their own module (this one's size);
# they are models of this app all the same, importable from here.
from chat.integration_models import (  # noqa: F401
    SCOPES,
    ApiKey,
    IdempotencyRecord,
    QuotaNotice,
    hash_api_key,
)
from chat.names import user_name

# The site and its moderation policy live in their own module (this one's size). The key
# and secret makers stay importable here: the migrations name them chat.models._site_key.
from chat.site_models import (  # noqa: F401
    ModerationPolicy,
    Site,
    _identity_secret,
    _site_key,
)


class Customer(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="customers")
    # NULL, not "", so that the partial unique constraint ignores anonymous visitors.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    identity_verified = models.BooleanField(default=False)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    locale = models.CharField(max_length=16, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Visitor tokens carry this number; issuing a new one bumps it, which revokes the
    # previous token (after VISITOR_TOKEN_GRACE seconds, for tabs that raced the refresh).
    token_generation = models.PositiveIntegerField(default=0)
    token_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "external_id"],
                condition=Q(external_id__isnull=False),
                name="customer_unique_external_id_per_site",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Visitor #{self.pk}"

    @property
    def display_name(self) -> str:
        return str(self)


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", "With the bot"
        QUEUED = "queued", "Queued"
        OFFERED = "offered", "Offered"
        ASSIGNED = "assigned", "Assigned"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        ABANDONED = "abandoned", "Abandoned"

    OPEN_STATUSES = (Status.BOT, Status.QUEUED, Status.OFFERED, Status.ASSIGNED, Status.REOPENED)
    WAITING_STATUSES = (Status.QUEUED, Status.OFFERED, Status.REOPENED)

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="conversations")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOT)
    queue = models.ForeignKey(
        "routing.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    language = models.CharField(max_length=16, blank=True)
    # Set once, when the pipeline's confident detections settle the language (see
    # chat/services/pipeline.py); until then `language` is the widget's locale.
    language_settled_at = models.DateTimeField(null=True, blank=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher is served first.")
    subject = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text='Labels, e.g. ["refund"].')
    # Highest seq handed out; bumped under the row lock in the same transaction as the insert.
    last_seq = models.PositiveIntegerField(default=0)
    # Bumped under the row lock by every conversation.updated snapshot: clients apply a
    # snapshot only if its rev is not older than the one they hold, so order holds across
    # processes.
    rev = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # When the customer's oldest unanswered message was sent: set by a customer's text,
    # cleared by an agent's or the bot's reply (in message_create, under the row lock).
    # The console's SLA timer counts from it against the queue's reply target.
    awaiting_since = models.DateTimeField(null=True, blank=True)
    # Where the customer started it: page_url, referrer, user_agent (the console's context).
    visit = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "queued_at"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["assignee", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Participant(models.Model):
    class Role(models.TextChoices):
        CUSTOMER = "customer"
        AGENT = "agent"
        BOT = "bot"
        SYSTEM = "system"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Receipt cursors: only ever move forward (conditional update in the service).
    delivered_seq = models.PositiveIntegerField(default=0)
    read_seq = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=16, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "user"],
                condition=Q(user__isnull=False),
                name="participant_unique_user",
            ),
            models.UniqueConstraint(
                fields=["conversation", "customer"],
                condition=Q(customer__isnull=False),
                name="participant_unique_customer",
            ),
            models.UniqueConstraint(
                fields=["conversation", "role"],
                condition=Q(role__in=["bot", "system"]),
                name="participant_unique_bot_system",
            ),
            models.CheckConstraint(
                condition=(
                    Q(role="customer", customer__isnull=False, user__isnull=True)
                    | Q(role="agent", user__isnull=False, customer__isnull=True)
                    | Q(role__in=["bot", "system"], user__isnull=True, customer__isnull=True)
                ),
                name="participant_role_matches_identity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} in #{self.conversation_id}"

    @property
    def display_name(self) -> str:
        if self.role == self.Role.CUSTOMER and self.customer:
            return self.customer.display_name
        if self.role == self.Role.AGENT and self.user:
            return user_name(self.user)
        return {"bot": "Parley bot", "system": "System"}.get(self.role, self.role)


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text"
        SYSTEM = "system"
        BOT = "bot"
        EVENT = "event"

    class Moderation(models.TextChoices):
        CLEAN = "clean"  # checked, nothing found
        MASKED = "masked"  # words masked for the recipients
        FLAGGED = "flagged"  # masked, and waiting for a supervisor's look
        SKIPPED = "skipped"  # not moderated (bot, system and event lines; agents by default)

    class Pipeline(models.TextChoices):
        PENDING = "pending"  # detection/translation not done yet (Celery)
        DONE = "done"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField()
    sender = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    # Language pipeline (chat/pipeline). `body` is what the sender wrote, kept for the
    # sender, supervisors and audit; the other side reads `body_moderated` when moderation
    # changed something.
    body = models.TextField()
    body_moderated = models.TextField(
        blank=True, help_text="The recipients' copy when moderation changed it; empty if not."
    )
    moderation = models.CharField(
        max_length=8, choices=Moderation.choices, default=Moderation.SKIPPED
    )
    moderation_flags = models.JSONField(
        default=list, blank=True, help_text="What the word lists matched (supervisors only)."
    )
    language = models.CharField(max_length=16, blank=True)
    language_confidence = models.FloatField(null=True, blank=True)
    language_source = models.CharField(
        max_length=8, blank=True, help_text="detected, fallback (the sender's locale) or unknown"
    )
    pipeline = models.CharField(max_length=8, choices=Pipeline.choices, default=Pipeline.DONE)
    pipeline_queued_at = models.DateTimeField(null=True, blank=True)
    pipeline_done_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="message_unique_client_msg_id",
            ),
        ]
        indexes = [
            # The sweeper's scan for messages whose pipeline task never ran.
            models.Index(
                fields=["pipeline_queued_at"],
                condition=Q(pipeline="pending"),
                name="message_pipeline_pending",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(moderation="flagged"),
                name="message_flagged",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.conversation_id}:{self.seq}"

    @property
    def recipient_body(self) -> str:
        """The text the other side may read: never the original when moderation masked it."""
        if self.moderation in (self.Moderation.MASKED, self.Moderation.FLAGGED):
            return self.body_moderated
        return self.body


class ConversationEvent(models.Model):
    """The lifecycle timeline: one row per state change, with why it happened."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=48)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=120, blank=True, help_text="Who or what caused it.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["conversation", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} #{self.conversation_id}"


# Internal notes live in their own module (this one is long enough); imported here so that
# Django registers the model with the chat app.
# CSAT ratings, attachments, translations and blocked messages, the same way.
from chat.attachment_models import Attachment  # noqa: E402, F401
from chat.csat_models import CsatRating  # noqa: E402, F401
from chat.note_models import Note  # noqa: E402, F401
from chat.pipeline_models import BlockedMessage, MessageTranslation  # noqa: E402, F401
