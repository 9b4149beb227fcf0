"""What the console's context panel shows beside a conversation: who the customer is and
where they came from, what the bot collected, their past conversations (read-only) and
the conversation's timeline (why it reached this agent). Reads only, for agents only: a
customer or a service key gets the same not_found as for a missing id."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Q
from ua_parser import parse as parse_user_agent

from chat import list_filters
from chat.actors import Actor
from chat.csat_models import CsatRating
from chat.exceptions import NotFound, ValidationError
from chat.models import Conversation, Message, Note
from chat.names import user_name
from chat.payloads import csat_payload, note_payload
from chat.prechat import form_fields
from chat.selectors import conversation_get_for_actor, messages_payload
from chat.services.customers import WIDGET_ATTRIBUTES

PAST_LIMIT = 10
TIMELINE_LIMIT = 100


def _ts(value) -> str | None:
    return value.isoformat() if value else None


@functools.lru_cache(maxsize=1024)
def device_of(user_agent: str) -> dict[str, str]:
    """Browser, OS and device in words, from a user agent (ua-parser's rules)."""
    if not user_agent:
        return {"browser": "", "os": "", "device": ""}
    parsed = parse_user_agent(user_agent)
    browser = parsed.user_agent
    os_ = parsed.os
    device = parsed.device
    mobile = any(w in user_agent for w in ("Mobile", "Android", "iPhone", "iPad"))
    return {
        "browser": " ".join(filter(None, [browser.family, browser.major])) if browser else "",
        "os": " ".join(filter(None, [os_.family, os_.major])) if os_ else "",
        "device": (device.family if device and device.family != "Other" else "")
        or ("Mobile" if mobile else "Desktop"),
    }


def _agent_only(actor: Actor) -> None:
    if actor.kind != "agent":
        raise NotFound("No such conversation.")


def _collected(conversation: Conversation) -> dict[str, Any]:
    handoff = (
        Note.objects.filter(conversation=conversation, kind=Note.Kind.HANDOFF)
        .order_by("-id")
        .first()
    )
    if handoff is not None and isinstance(handoff.data.get("collected"), dict):
        return {
            "source": "bot",
            "answers": handoff.data["collected"],
            "intent": handoff.data.get("intent"),
            "tags": handoff.data.get("tags") or [],
        }
    # No bot: the customer's own attributes (a CRM's, the API's), without the pre-chat
    # form's, which have their section (_form).
    attributes = conversation.customer.attributes or {}
    answers = {k: v for k, v in attributes.items() if k not in WIDGET_ATTRIBUTES}
    return {"source": "attributes", "answers": answers, "intent": None, "tags": []}


def _label(field: dict[str, Any], language: str) -> str:
    label = field.get("label") or field["name"].replace("_", " ").capitalize()
    if isinstance(label, dict):
        return label.get(language) or label.get("en") or next(iter(label.values()))
    return str(label)


def _form(conversation: Conversation) -> dict[str, Any] | None:
    """What the visitor gave the site's pre-chat form: consent (with its time) and the
    site's own fields, labelled as the form labels them (in English where it can)."""
    attributes = conversation.customer.attributes or {}
    consent, answers = attributes.get("consent"), attributes.get("prechat") or {}
    if not isinstance(consent, dict) and not answers:
        return None
    fields = {f["name"]: f for f in form_fields(conversation.site.prechat_form)}
    return {
        "at": attributes.get("prechat_at"),
        "consent": consent if isinstance(consent, dict) else None,
        "fields": [
            {"name": name, "label": _label(fields.get(name, {"name": name}), "en"), "value": value}
            for name, value in answers.items()
        ],
    }


def conversation_context(*, actor: Actor, conversation_id: int) -> dict[str, Any]:
    """The context panel's content for one conversation the agent may see."""
    _agent_only(actor)
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    customer = conversation.customer
    visit = conversation.visit or {}
    past = list(
        Conversation.objects.filter(customer_id=customer.pk)
        .exclude(pk=conversation.pk)
        .select_related("assignee__agent_profile", "queue")
        .order_by("-id")[:PAST_LIMIT]
    )
    events = list(conversation.events.order_by("created_at", "id")[:TIMELINE_LIMIT])
    return {
        "conversation": conversation.pk,
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "email": customer.email,
            "external_id": customer.external_id,
            "identity_verified": customer.identity_verified,
            "locale": customer.locale,
            "language": conversation.language,
            "created_at": _ts(customer.created_at),
            "last_seen_at": _ts(customer.last_seen_at),
        },
        "visit": {
            "page_url": visit.get("page_url", ""),
            "referrer": visit.get("referrer", ""),
            **device_of(visit.get("user_agent", "")),
        },
        "collected": _collected(conversation),
        "form": _form(conversation),
        "past": [
            {
                "id": c.pk,
                "status": c.status,
                "created_at": _ts(c.created_at),
                "resolved_at": _ts(c.resolved_at),
                "queue": c.queue.name if c.queue_id else None,
                "assignee": user_name(c.assignee) if c.assignee_id else None,
                "messages": c.last_seq,
            }
            for c in past
        ],
        "timeline": [
            {
                "type": e.type,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "reason": e.reason,
                "actor": e.actor,
                "at": _ts(e.created_at),
            }
            for e in events
        ],
    }


def past_transcript(*, actor: Actor, conversation_id: int, past_id: int) -> dict[str, Any]:
    """One of the customer's earlier conversations, read-only: an agent who may see the
    current conversation may read the same customer's others (and nothing else)."""
    _agent_only(actor)
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    past = Conversation.objects.filter(pk=past_id, customer_id=conversation.customer_id).first()
    if past is None or past.pk == conversation.pk:
        raise NotFound("No such conversation.", code="not_found")
    messages = list(
        Message.objects.filter(conversation_id=past.pk)
        .select_related("sender__customer", "sender__user")
        .prefetch_related("translations")
        .order_by("seq")[:500]
    )
    rating = CsatRating.objects.filter(conversation_id=past.pk).first()
    return {
        "conversation": conversation.pk,
        "past": past.pk,
        "status": past.status,
        # Built for this agent, as every message payload is: their own words as the sender,
        # the rest in their language (docs/protocol.md, "Message").
        "messages": messages_payload(actor=actor, conversation=past, messages=messages),
        "notes": [note_payload(n) for n in past.notes.order_by("id")[:200]],
        # How the customer rated it, if they did (the agent reading it learns how it went).
        "csat": None if rating is None else csat_payload(rating),
    }


def conversation_search(*, actor: Actor, query: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The agent's own conversations (ones they took part in) whose customer (name, email,
    external id), messages or internal notes match ``query``, newest first, with the
    matching line (a message's first; a note's as "Note: …")."""
    _agent_only(actor)
    if not isinstance(query, str) or not 2 <= len(query.strip()) <= 100:
        raise ValidationError("query must be 2-100 characters.", field="query")
    q = query.strip()
    mine = Conversation.objects.filter(
        Q(participants__user_id=actor.user.pk) | Q(assignee_id=actor.user.pk)
    )
    by_customer = Q(customer__name__icontains=q) | Q(customer__email__icontains=q)
    by_customer |= Q(customer__external_id__icontains=q)
    # What was written as this agent reads it: masked words stay masked (list_filters).
    said = list_filters.messages_matching(q, actor=actor)
    by_text = Q(pk__in=said.values("conversation_id"))
    # Internal notes too (agents only, as the searcher is): "refund approved" is often
    # written in a note, not to the customer.
    by_note = Q(pk__in=Note.objects.filter(body__icontains=q).values("conversation_id"))
    found = list(
        mine.filter(by_customer | by_text | by_note)
        .distinct()
        .select_related("customer", "queue")
        .order_by("-id")[:limit]
    )
    hits: dict[int, str] = {}
    for message in (
        said.filter(conversation__in=[c.pk for c in found])
        .select_related("sender")
        .order_by("conversation_id", "seq")
    ):
        text = list_filters.message_text_shown(message, actor=actor)
        hits.setdefault(message.conversation_id, text[:160])
    for conversation_id, body in (
        Note.objects.filter(conversation__in=[c.pk for c in found], body__icontains=q)
        .order_by("conversation_id", "id")
        .values_list("conversation_id", "body")
    ):
        hits.setdefault(conversation_id, f"Note: {body}"[:160])
    return [
        {
            "id": c.pk,
            "status": c.status,
            "customer": c.customer.display_name,
            "queue": c.queue.name if c.queue_id else None,
            "created_at": _ts(c.created_at),
            "match": hits.get(c.pk, ""),
        }
        for c in found
    ]
