"""Customer satisfaction after an agent's chat: one rating per conversation (1-5 stars and
a comment), given by its customer in the widget once an agent resolved it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class CsatRating(models.Model):
    conversation = models.OneToOneField(
        "chat.Conversation", on_delete=models.CASCADE, related_name="csat"
    )
    site = models.ForeignKey("chat.Site", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who resolved the conversation (the rating is theirs in reports).",
    )
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        app_label = "chat"
        verbose_name = "CSAT rating"
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="csat_score_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for conversation {self.conversation_id}"
