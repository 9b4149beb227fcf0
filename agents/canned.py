"""Canned replies: an agent's own and the shared ones (per site or for all), listed,
saved and deleted from the console; shared ones are also managed in admin. Agents manage
their own; a supervisor also manages the shared ones."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from agents.models import SHORTCUT_RE, CannedReply
from chat.actors import Actor
from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import Site


def canned_payload(reply: CannedReply) -> dict[str, Any]:
    return {
        "id": reply.pk,
        "shortcut": reply.shortcut,
        "title": reply.title,
        "body": reply.body,
        "site": reply.site_id,
        "personal": reply.owner_id is not None,
    }


def _agent(actor: Actor) -> None:
    if actor.kind != "agent":
        raise PermissionDenied("Only agents use canned replies.")


def canned_list(*, actor: Actor) -> list[dict[str, Any]]:
    """The replies this agent may insert: their own and every shared one (the console
    keeps those of the conversation's site, or of every site)."""
    _agent(actor)
    replies = CannedReply.objects.filter(Q(owner_id=actor.user.pk) | Q(owner__isnull=True))
    return [canned_payload(r) for r in replies.order_by("shortcut", "id")[:500]]


def _clean(value: Any, field: str, *, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field} must not be empty.", field=field)
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters.", field=field)
    return value


@transaction.atomic
def canned_save(
    *,
    actor: Actor,
    shortcut: Any,
    body: Any,
    title: Any = "",
    reply_id: int | None = None,
    shared: Any = False,
    site_id: int | None = None,
) -> CannedReply:
    """Create (no ``reply_id``) or edit a canned reply. Personal by default; shared ones
    (``shared``) only by a supervisor."""
    _agent(actor)
    if not isinstance(shortcut, str) or not SHORTCUT_RE.fullmatch(shortcut):
        raise ValidationError("shortcut must be 1-32 letters, digits, - or _.", field="shortcut")
    body = _clean(body, "body", limit=settings.PARLEY["MESSAGE_MAX_CHARS"])
    title = _clean(title, "title", limit=120, required=False)
    if not isinstance(shared, bool):
        raise ValidationError("shared must be true or false.", field="shared")
    if shared and not actor.is_supervisor:
        raise PermissionDenied("Only a supervisor shares canned replies.")
    site = None
    if site_id is not None:
        site = Site.objects.filter(pk=site_id).first()
        if site is None:
            raise NotFound("No such site.", code="site_not_found")
    if reply_id is None:
        reply = CannedReply(owner=None if shared else actor.user)
    else:
        reply = CannedReply.objects.select_for_update().filter(pk=reply_id).first()
        if reply is None or not _may_edit(actor, reply):
            raise NotFound("No such canned reply.")
    reply.shortcut, reply.body, reply.title, reply.site = shortcut, body, title, site
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError as exc:
        raise Conflict(f"/{shortcut} already exists.", code="shortcut_taken") from exc
    return reply


def _may_edit(actor: Actor, reply: CannedReply) -> bool:
    if reply.owner_id is not None:
        return reply.owner_id == actor.user.pk
    return actor.is_supervisor


@transaction.atomic
def canned_delete(*, actor: Actor, reply_id: int) -> None:
    _agent(actor)
    reply = CannedReply.objects.filter(pk=reply_id).first()
    if reply is None or not _may_edit(actor, reply):
        raise NotFound("No such canned reply.")
    reply.delete()
