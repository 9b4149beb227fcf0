"""The REST conversation list's filters (``GET /api/v1/conversations/``): what the caller may
see (chat.selectors), narrowed by status, queue, people, site, tags, time and text."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from chat.actors import Actor
from chat.models import Conversation, Message
from chat.selectors import _participants, _visible_conversations


def conversations_filtered_for_actor(*, actor: Actor, **filters) -> QuerySet[Conversation]:
    """The REST list: what the actor may see, filtered (validated by the caller): status
    (list), queue, assignee, customer, site, tag (list), created_after, created_before, q
    (text)."""
    qs = _visible_conversations(actor)
    lookups = {
        "status": "status__in",
        "queue": "queue_id",
        "assignee": "assignee_id",
        "customer": "customer_id",
        "site": "site_id",
        "created_after": "created_at__gte",
        "created_before": "created_at__lt",
    }
    for name, lookup in lookups.items():
        value = filters.get(name)
        if value not in (None, [], ""):
            qs = qs.filter(**{lookup: value})
    for tag in filters.get("tag") or []:
        qs = _with_tag(qs, tag)
    text = (filters.get("q") or "").strip()
    if text:
        # The customer (name, email, your external id), the subject or what was written
        # (any case). Internal notes are not searched here: a key's or a visitor's list.
        said = messages_matching(text, actor=actor).values("conversation_id")
        qs = qs.filter(
            Q(customer__name__icontains=text)
            | Q(customer__email__icontains=text)
            | Q(customer__external_id__icontains=text)
            | Q(subject__icontains=text)
            | Q(pk__in=said)
        )
    return qs.select_related("customer", "queue", "assignee").prefetch_related(_participants())


_MASKED = (Message.Moderation.MASKED, Message.Moderation.FLAGGED)


def messages_matching(text: str, *, actor: Actor) -> QuerySet[Message]:
    """Messages whose text, as ``actor`` is shown it, contains ``text`` (any case): the
    recipients' copy where moderation masked words (``Message.recipient_body``), the
    original only to the one who wrote it (chat/pipeline/payloads.py, ``message_view``).
    Searching the original let a key or an agent confirm a guessed masked word: ``q=`` a
    swear word found the message that reads "f******" to them. The REST list and the
    console's search both ask this."""
    masked = Q(moderation__in=_MASKED)
    shown = (masked & Q(body_moderated__icontains=text)) | (~masked & Q(body__icontains=text))
    if actor.kind == "customer":
        shown |= Q(sender__customer_id=actor.customer.pk, body__icontains=text)
    elif actor.kind == "agent":
        shown |= Q(sender__user_id=actor.user.pk, body__icontains=text)
    return Message.objects.filter(shown)


def message_text_shown(message: Message, *, actor: Actor) -> str:
    """The text of ``message`` as ``actor`` reads it (the rule ``messages_matching``
    searches): the sender's own original, everyone else's copy."""
    sender = message.sender
    if (actor.kind == "customer" and sender.customer_id == actor.customer.pk) or (
        actor.kind == "agent" and sender.user_id == actor.user.pk
    ):
        return message.body
    return message.recipient_body


def _with_tag(qs: QuerySet[Conversation], tag: str) -> QuerySet[Conversation]:
    if connection.vendor == "postgresql":
        return qs.filter(tags__contains=[tag])  # jsonb @>, indexable
    # SQLite has no JSON containment lookup: ask its json_each directly (exact match).
    table = Conversation._meta.db_table
    has = RawSQL(
        f"EXISTS (SELECT 1 FROM json_each({table}.tags) WHERE json_each.value = %s)", [tag]
    )
    return qs.alias(has_tag=has).filter(has_tag=True)
