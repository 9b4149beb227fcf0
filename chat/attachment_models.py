"""Files that customers, agents and integrations attach to messages.

An attachment is uploaded first (REST, multipart) and linked to a message by the send that
names its id, in the send's transaction (chat/services/attachments.py). Its bytes live in
the ``attachments`` storage (settings.STORAGES: the filesystem or an S3-compatible store)
and are only ever served by Parley's own view, which checks access and a signed link.
"""

from __future__ import annotations

import uuid

from django.core.files.storage import storages
from django.db import models
from django.db.models import Q


def attachments_storage():
    return storages["attachments"]


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image"
        FILE = "file"

    # A random id: ids are handed to browsers and must not be guessable or enumerable.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey("chat.Site", on_delete=models.CASCADE, related_name="+")
    # Null until a send links it (a customer may upload before their first conversation).
    conversation = models.ForeignKey(
        "chat.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    message = models.ForeignKey(
        "chat.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    # Who uploaded it (chat.actors.Actor.key: "customer:12", "agent:3", "service:7"): only
    # they may send it, and read it before it is sent.
    uploader = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, help_text="Sniffed from the bytes.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(storage=attachments_storage, upload_to="files/%Y/%m/", max_length=300)
    thumbnail = models.FileField(
        storage=attachments_storage, upload_to="thumbs/%Y/%m/", max_length=300, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "chat"
        indexes = [models.Index(fields=["uploader", "created_at"], name="attachment_uploader")]
        constraints = [
            models.CheckConstraint(
                condition=Q(message__isnull=True) | Q(conversation__isnull=False),
                name="attachment_linked_has_conversation",
            )
        ]

    def __str__(self) -> str:
        return self.name
