"""Attachments: the upload (checked against the site's limits, sniffed, images re-encoded
and thumbnailed, stored through the ``attachments`` storage) and, inside a send's
transaction, the check and the link of the ids the message names.

A message keeps a snapshot of its attachments' metadata in ``data["attachments"]``, written
once with the message: payloads (chat/attachment_links.py) are built from it with fresh
signed links and no query, so a plain message's path pays nothing for attachments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from chat import attachment_files
from chat.actors import Actor
from chat.attachment_models import Attachment
from chat.attachment_selectors import uploader_key
from chat.exceptions import NotFound, ParleyError, PermissionDenied, ValidationError
from chat.models import Conversation, Message, Site
from chat.selectors import conversation_get_for_actor


class TooLarge(ParleyError):
    """The file is larger than the site accepts."""

    code = "attachment_too_large"
    status = 413


class TypeNotAllowed(ParleyError):
    """The site does not accept files of this type."""

    code = "attachment_type"
    status = 415


@dataclass(frozen=True)
class Limits:
    types: tuple[str, ...]
    max_bytes: int
    max_count: int


def site_limits(site: Site) -> Limits:
    conf = settings.PARLEY
    ceiling = conf["ATTACHMENT_MAX_BYTES_CEILING"]
    max_bytes = site.attachment_max_bytes or conf["ATTACHMENT_MAX_BYTES"]
    max_count = site.attachment_max_count
    return Limits(
        types=tuple(site.attachment_types or conf["ATTACHMENT_TYPES"]),
        max_bytes=min(max_bytes, ceiling),
        max_count=conf["ATTACHMENT_MAX_COUNT"] if max_count is None else max_count,
    )


def _size_label(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


@transaction.atomic
def attachment_upload(
    *, actor: Actor, upload: Any, conversation_id: int | None = None
) -> Attachment:
    """Store one uploaded file (a Django UploadedFile) for ``actor`` to send. Customers may
    upload before they have a conversation; agents and API keys name the conversation."""
    conversation: Conversation | None = None
    if conversation_id is not None:
        conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
        site = conversation.site
    elif actor.kind == "customer":
        site = actor.customer.site
    else:
        raise ValidationError("conversation is required.", field="conversation")
    limits = site_limits(site)
    if limits.max_count == 0:
        raise PermissionDenied(
            "This site does not accept attachments.", code="attachments_disabled"
        )
    if upload is None:
        raise ValidationError("Send the file as the multipart field `file`.", field="file")
    if upload.size == 0:
        raise ValidationError("The file is empty.", code="attachment_empty", field="file")
    if upload.size > limits.max_bytes:
        raise TooLarge(f"The file is larger than {_size_label(limits.max_bytes)}.", field="file")
    data = upload.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:  # the size the parser reported was wrong
        raise TooLarge(f"The file is larger than {_size_label(limits.max_bytes)}.", field="file")
    name = attachment_files.clean_name(upload.name)
    content_type = attachment_files.sniff(data, name)
    if content_type not in limits.types:
        raise TypeNotAllowed(
            "Files of this type are not accepted here"
            + (f" ({content_type})." if content_type != "application/octet-stream" else ".")
            + " Accepted: "
            + ", ".join(attachment_files.KNOWN_TYPES[t][1][0].lstrip(".") for t in limits.types)
            + ".",
            field="file",
        )
    conf = settings.PARLEY
    processed = attachment_files.process(
        data,
        content_type,
        max_pixels=conf["ATTACHMENT_MAX_PIXELS"],
        thumb=conf["ATTACHMENT_THUMBNAIL_SIZE"],
    )
    name = attachment_files.name_for_type(name, content_type)
    attachment = Attachment(
        id=uuid.uuid4(),
        site=site,
        conversation=conversation,
        uploader=uploader_key(actor),
        name=name,
        size=len(processed.data),
        content_type=content_type,
        kind=processed.kind,
        width=processed.width,
        height=processed.height,
    )
    # Stored under a random name: the display name never reaches a path.
    ext = attachment_files.KNOWN_TYPES[content_type][1][0]
    attachment.file.save(f"{attachment.id.hex}{ext}", ContentFile(processed.data), save=False)
    if processed.thumbnail:
        attachment.thumbnail.save(
            f"{attachment.id.hex}.webp", ContentFile(processed.thumbnail), save=False
        )
    attachment.save(force_insert=True)
    return attachment


def clean_attachment_ids(value: Any) -> list[uuid.UUID]:
    """The ``attachments`` of a send: a list of attachment ids (strings), or nothing."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100:
        raise ValidationError("attachments must be a list of attachment ids.", field="attachments")
    ids: list[uuid.UUID] = []
    for item in value:
        try:
            parsed = uuid.UUID(item) if isinstance(item, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(
                "attachments must be a list of attachment ids.", field="attachments"
            )
        if parsed not in ids:
            ids.append(parsed)
    return ids


def attachments_for_send(
    *, actor: Actor, conversation: Conversation, ids: list[uuid.UUID]
) -> list[Attachment]:
    """The attachments a send names, locked: each uploaded by this actor on this site, in
    no message yet, and for this conversation (or none yet). Call on the locked
    conversation, after the client_msg_id retry check (a retry's ids are linked already)."""
    if not ids:
        return []
    limits = site_limits(conversation.site)
    if len(ids) > limits.max_count:
        raise ValidationError(
            f"At most {limits.max_count} attachments per message.",
            code="too_many_attachments",
            field="attachments",
        )
    rows = {
        a.pk: a
        for a in Attachment.objects.select_for_update().filter(
            pk__in=ids,
            uploader=uploader_key(actor),
            site_id=conversation.site_id,
            message__isnull=True,
        )
        if a.conversation_id in (None, conversation.pk)
    }
    if len(rows) != len(ids):
        # The same answer for "missing", "someone else's" and "already sent".
        raise NotFound(
            "No such attachment, or it was sent already.",
            code="attachment_not_found",
            field="attachments",
        )
    return [rows[i] for i in ids]


def attachments_snapshot(attachments: list[Attachment]) -> list[dict[str, Any]]:
    """What the message keeps of its attachments (its payload's source)."""
    return [
        {
            "id": str(a.pk),
            "name": a.name,
            "size": a.size,
            "content_type": a.content_type,
            "kind": a.kind,
            "width": a.width,
            "height": a.height,
            "thumbnail": bool(a.thumbnail),
        }
        for a in attachments
    ]


def attachments_link(*, attachments: list[Attachment], message: Message) -> None:
    if attachments:
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(
            message=message, conversation_id=message.conversation_id
        )


def attachments_purge_unsent(*, older_than_seconds: int, batch: int = 500) -> int:
    """Delete uploads never sent in a message (and their files) after a grace period.
    Claimed row by row (SKIP LOCKED) so a send linking one at this moment keeps it."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(
                Attachment.objects.select_for_update(skip_locked=True).filter(
                    message__isnull=True, created_at__lt=cutoff
                )[:batch]
            )
            if not rows:
                return deleted
            _delete_with_files(rows)
        deleted += len(rows)


def _delete_with_files(rows: list[Attachment]) -> None:
    Attachment.objects.filter(pk__in=[a.pk for a in rows]).delete()
    files = [f for a in rows for f in (a.file, a.thumbnail) if f]
    # The files go once the rows' deletion is committed (a rollback keeps both).
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files])


def attachments_erase_for(*, actor: Actor) -> int:
    """Everything ``actor`` uploaded, rows and files (a customer's GDPR erasure)."""
    rows = list(Attachment.objects.select_for_update().filter(uploader=uploader_key(actor)))
    _delete_with_files(rows)
    return len(rows)
