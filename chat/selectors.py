"""Reads. Every selector that returns conversation data checks the actor's right to it in
the same function, so no caller can forget the check."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet

from chat import recipients
from chat.actors import Actor
from chat.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from chat.models import ApiKey, Conversation, Customer, Message, Participant, hash_api_key
from chat.payloads import conversation_payload, message_payload
from chat.pipeline.engines import engine_name
from chat.pipeline.health import translation_status
from chat.pipeline.selectors import viewer_for_actor

VISITOR_TOKEN_SALT = "parley.visitor"


def customer_get_from_token(*, token: str) -> Customer:
    """Resolve a signed visitor token; raises AuthenticationFailed if bad or expired."""
    if not isinstance(token, str) or not token:
        raise AuthenticationFailed("A visitor token is required.")
    try:
        data = signing.loads(
            token,
            salt=VISITOR_TOKEN_SALT,
            max_age=settings.PARLEY["VISITOR_TOKEN_MAX_AGE"],
        )
    except signing.SignatureExpired as exc:
        raise AuthenticationFailed("The visitor token has expired.", code="token_expired") from exc
    except signing.BadSignature as exc:
        raise AuthenticationFailed("The visitor token is invalid.", code="token_invalid") from exc
    try:
        return Customer.objects.select_related("site").get(pk=data["c"], site_id=data["s"])
    except (Customer.DoesNotExist, KeyError, TypeError) as exc:
        raise AuthenticationFailed("The visitor token is invalid.", code="token_invalid") from exc


def api_key_get(*, raw_key: str) -> ApiKey:
    try:
        return ApiKey.objects.select_related("site").get(
            key_hash=hash_api_key(raw_key), is_active=True
        )
    except ApiKey.DoesNotExist as exc:
        raise AuthenticationFailed("The API key is invalid.", code="api_key_invalid") from exc


def user_is_agent(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or hasattr(user, "agent_profile"))
    )


def _visible_conversations(actor: Actor) -> QuerySet[Conversation]:
    qs = Conversation.objects.all()
    if actor.kind == "customer":
        return qs.filter(customer_id=actor.customer.pk)
    if actor.kind == "service":
        site_id = actor.api_key.site_id
        return qs.filter(site_id=site_id) if site_id else qs
    if actor.is_supervisor:
        return qs
    # An agent sees the waiting room and the conversations they take part in.
    return qs.filter(
        Q(status__in=Conversation.WAITING_STATUSES)
        | Q(participants__user_id=actor.user.pk)
        | Q(assignee_id=actor.user.pk)
    ).distinct()


def conversation_get_for_actor(*, actor: Actor, conversation_id: int) -> Conversation:
    try:
        return (
            _visible_conversations(actor)
            .select_related("customer", "queue", "assignee", "site")
            .get(pk=conversation_id)
        )
    except Conversation.DoesNotExist as exc:
        # Same answer for "missing" and "not yours": ids must not be probeable.
        raise NotFound("No such conversation.") from exc


def conversation_list_for_actor(
    *, actor: Actor, statuses: list[str] | None = None, limit: int = 100
) -> list[Conversation]:
    qs = _visible_conversations(actor).select_related("customer", "queue", "assignee")
    if statuses:
        qs = qs.filter(status__in=statuses)
    elif actor.kind == "agent":
        qs = qs.filter(status__in=Conversation.OPEN_STATUSES)
    qs = qs.order_by("-priority", "queued_at", "-id").prefetch_related(
        "participants__customer", "participants__user"
    )
    return list(qs[:limit])


def participant_get_for_actor(*, actor: Actor, conversation: Conversation) -> Participant:
    """The participant an actor writes as. Raises PermissionDenied if it may not write."""
    qs = Participant.objects.select_related("customer", "user").filter(
        conversation_id=conversation.pk, left_at__isnull=True
    )
    if actor.kind == "customer":
        p = qs.filter(customer_id=actor.customer.pk).first()
    elif actor.kind == "agent":
        p = qs.filter(user_id=actor.user.pk, role=Participant.Role.AGENT).first()
    else:
        p = None
    if p is None:
        raise PermissionDenied("You are not a participant of this conversation.")
    return p


def messages_after(
    *, actor: Actor, conversation_id: int, after_seq: int, limit: int
) -> tuple[Conversation, list[Message]]:
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    messages = list(
        Message.objects.filter(conversation_id=conversation.pk, seq__gt=after_seq)
        .select_related("sender__customer", "sender__user")
        .prefetch_related("translations")  # the per-viewer payload shows them
        .order_by("seq")[:limit]
    )
    return conversation, messages


def open_conversation_tops(*, actor: Actor, limit: int = 100) -> dict[str, int]:
    """The last seq of each open conversation the actor takes part in, keyed by id (as
    JSON keys are strings): what ``pong`` carries, so a client that missed the last
    ``message.new`` of a quiet conversation sees the gap within one heartbeat."""
    qs = Conversation.objects.filter(status__in=Conversation.OPEN_STATUSES)
    if actor.kind == "customer":
        qs = qs.filter(customer_id=actor.customer.pk)
    elif actor.kind == "agent":
        qs = qs.filter(
            participants__user_id=actor.user.pk, participants__left_at__isnull=True
        ).distinct()
    else:
        return {}
    rows = qs.order_by("-id").values_list("id", "last_seq")[:limit]
    return {str(pk): seq for pk, seq in rows}


def participant_groups(*, conversation_id: int) -> list[str]:
    """Principal groups of a conversation's active participants (for fan-out)."""
    return recipients.participant_groups(
        Participant.objects.filter(conversation_id=conversation_id, left_at__isnull=True).only(
            "customer_id", "user_id", "left_at"
        )
    )


def session_snapshot(*, actor: Actor) -> dict:
    """What a socket sends in its hello frame: the actor's open conversations."""
    conversations = conversation_list_for_actor(actor=actor)
    snapshot = {
        "conversations": [
            conversation_payload(c, list(c.participants.all())) for c in conversations
        ],
        # Says whether translation is on, so a client can tell "off" from "not yet".
        "translation": translation_status(),
    }
    return snapshot


def resume_page(*, actor: Actor, conversation_id: int, after_seq: int, limit: int) -> dict:
    """The messages after a seq, in order, plus the conversation's current state; each
    message as this actor may see it (the same shape as message.new)."""
    conversation, messages = messages_after(
        actor=actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
    )
    viewer = viewer_for_actor(actor=actor, conversation=conversation)
    enabled = engine_name() != "off"
    return {
        "conversation": conversation_payload(conversation),
        "messages": [
            message_payload(m, viewer=viewer, translation_enabled=enabled) for m in messages
        ],
        "has_more": bool(messages) and messages[-1].seq < conversation.last_seq,
    }


def conversation_events_for_actor(*, actor: Actor, conversation_id: int) -> list:
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    return list(conversation.events.order_by("created_at", "id"))
