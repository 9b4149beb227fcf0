"""What the language pipeline and moderation keep beside a message: its translations, and
the messages the "block" policy refused (chat.models imports this module, so that Django
registers both with the chat app)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class MessageTranslation(models.Model):
    """One message in one reader's language; made by the pipeline from the moderated text."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        UNAVAILABLE = "unavailable"  # the engine failed; retried later by the sweeper

    message = models.ForeignKey(
        "chat.Message", on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(max_length=16)
    source_language = models.CharField(max_length=16)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    body = models.TextField(blank=True)
    engine = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["message", "language"]
        constraints = [
            # Processing a message twice gives one translation per language.
            models.UniqueConstraint(
                fields=["message", "language"], name="message_translation_unique_language"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="unavailable"),
                name="translation_retry_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.message} → {self.language} ({self.state})"


class BlockedMessage(models.Model):
    """A message refused by the "block" moderation policy: never delivered, never given a
    seq, kept here for supervisors and audit (admin only: agents' timelines don't show it)."""

    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="blocked_messages"
    )
    sender = models.ForeignKey("chat.Participant", on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    flags = models.JSONField(default=list, blank=True)
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="blocked_message_unique_client_msg_id",
            )
        ]

    def __str__(self) -> str:
        return f"blocked in #{self.conversation_id}"
