"""Signed, expiring links to attachments, and the attachment payload.

A link is a capability: ``/api/v1/attachments/<id>/<variant>/?s=<timestamp:signature>``
(django.core.signing.TimestampSigner over the id and the variant, valid for
ATTACHMENT_URL_TTL seconds). Links are minted whenever a payload is built, so a client that
reloads a conversation (REST or ``resume``) always gets working ones.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing

SALT = "parley.attachments"
VARIANTS = ("file", "thumbnail")


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def signed_url(attachment_id: str, variant: str) -> str:
    signed = _signer().sign(f"{attachment_id}.{variant}")
    return f"/api/v1/attachments/{attachment_id}/{variant}/?s={signed.split(':', 1)[1]}"


def link_check(attachment_id: str, variant: str, s: str | None) -> str | None:
    """None when ``s`` signs this attachment's variant and has not expired, else the
    error code: ``attachment_link_expired`` or ``attachment_link_invalid``."""
    if not s or not isinstance(s, str) or len(s) > 200:
        return "attachment_link_invalid"
    try:
        _signer().unsign(
            f"{attachment_id}.{variant}:{s}", max_age=settings.PARLEY["ATTACHMENT_URL_TTL"]
        )
    except signing.SignatureExpired:
        return "attachment_link_expired"
    except signing.BadSignature:
        return "attachment_link_invalid"
    return None


def attachment_payload(meta: dict[str, Any]) -> dict[str, Any]:
    """One attachment as clients see it (chat.events.ATTACHMENT_FIELDS), from the
    message's snapshot or an upload's."""
    image = meta["kind"] == "image"
    return {
        "id": meta["id"],
        "name": meta["name"],
        "size": meta["size"],
        "content_type": meta["content_type"],
        "kind": meta["kind"],
        "width": meta.get("width") if image else None,
        "height": meta.get("height") if image else None,
        "url": signed_url(meta["id"], "file"),
        "thumbnail_url": signed_url(meta["id"], "thumbnail") if meta.get("thumbnail") else None,
    }


def message_attachments(data: dict[str, Any] | None) -> tuple[dict[str, Any], list[dict]]:
    """A message's ``data`` without the snapshot, and its attachments' payloads."""
    if not data or "attachments" not in data:
        return data or {}, []
    rest = {k: v for k, v in data.items() if k != "attachments"}
    return rest, [attachment_payload(m) for m in data["attachments"]]
