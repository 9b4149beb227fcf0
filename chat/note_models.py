"""Internal notes: what agents (and the bot's hand-off) write for agents only.

A separate table, not a flag on Message: messages carry a contiguous per-conversation seq
that the customer's client checks for gaps, so a note with a seq would be a gap the widget
resumes forever, and a note among messages would be one filter away from a leak. A note
has no seq; it is never read by a customer path (tests/chat/test_notes.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Note(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", "An agent's note"
        HANDOFF = "handoff", "The bot's hand-off summary"
        TRANSFER = "transfer", "A transfer's note for the receiving agent"

    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="notes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the bot's notes.",
    )
    author_name = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    client_note_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "chat"
        ordering = ["conversation", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "author", "client_note_id"],
                condition=Q(client_note_id__isnull=False),
                name="note_unique_client_note_id",
            )
        ]

    def __str__(self) -> str:
        return f"note {self.pk} on #{self.conversation_id}"
