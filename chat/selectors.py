"""Reads. Every selector that returns conversation data checks the actor's right to it in
the same function, so no caller can forget the check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.utils import timezone

from chat import recipients
from chat.actors import Actor
from chat.compiled import CompiledQuery
from chat.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from chat.models import (
    ApiKey,
    Conversation,
    CsatRating,
    Customer,
    Message,
    Participant,
    hash_api_key,
)
from chat.payloads import conversation_payload, message_payload
from chat.pipeline.engines import engine_name
from chat.pipeline.selectors import viewer_for_actor

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

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
        customer_id, site_id = data["c"], data["s"]
    except (KeyError, TypeError) as exc:
        raise AuthenticationFailed("The visitor token is invalid.", code="token_invalid") from exc
    if type(customer_id) is not int or type(site_id) is not int:  # signed by us: never
        raise AuthenticationFailed("The visitor token is invalid.", code="token_invalid")
    found = _customer_by_token(customer=customer_id, site=site_id)
    if not found:
        raise AuthenticationFailed("The visitor token is invalid.", code="token_invalid")
    customer = found[0]
    if not visitor_token_current(customer=customer, generation=data.get("g", 0)):
        raise AuthenticationFailed(
            "The visitor token was replaced by a newer one.", code="token_revoked"
        )
    return customer


# Every widget connect reads it: compiled once (chat/compiled.py).
_customer_by_token = CompiledQuery(
    lambda customer, site: Customer.objects.select_related("site").filter(
        pk=customer, site_id=site
    )[:1],
    "customer",
    "site",
)


def visitor_token_current(*, customer: Customer, generation: object) -> bool:
    """A token is the customer's latest, or the one before it for VISITOR_TOKEN_GRACE
    seconds after it was replaced: two tabs that load at once both refresh with the same
    token, and the second must not turn into a stranger."""
    if not isinstance(generation, int) or isinstance(generation, bool):
        return False
    if generation == customer.token_generation:
        return True
    if generation != customer.token_generation - 1 or customer.token_rotated_at is None:
        return False
    grace = dt.timedelta(seconds=settings.PARLEY["VISITOR_TOKEN_GRACE"])
    return timezone.now() - customer.token_rotated_at <= grace


def api_key_get(*, raw_key: str) -> ApiKey:
    """The usable key with this secret; a revoked or unknown one is invalid, an expired one
    says so (its owner can tell "renew" from "wrong key")."""
    try:
        key = ApiKey.objects.select_related("site", "owner").get(
            key_hash=hash_api_key(raw_key), is_active=True
        )
    except ApiKey.DoesNotExist as exc:
        raise AuthenticationFailed("The API key is invalid.", code="api_key_invalid") from exc
    if not key.usable():
        raise AuthenticationFailed("The API key has expired.", code="api_key_expired")
    return key


def api_key_has_scope(*, key: ApiKey, resource: str, write: bool) -> bool:
    return f"{resource}:{'write' if write else 'read'}" in (key.scopes or [])


def user_is_agent(user: AbstractBaseUser | AnonymousUser | None) -> bool:
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
    return agent_visible_conversations(user_id=actor.user.pk)


def agent_visible_conversations(*, user_id: int) -> QuerySet[Conversation]:
    """An agent (not a supervisor) sees the waiting room and the conversations they take
    part in."""
    return Conversation.objects.filter(
        Q(status__in=Conversation.WAITING_STATUSES)
        | Q(participants__user_id=user_id)
        | Q(assignee_id=user_id)
    ).distinct()


def conversation_for_actor_queryset(*, actor: Actor) -> QuerySet[Conversation]:
    """conversation_get_for_actor's statement, before its id."""
    return _visible_conversations(actor).select_related("customer", "queue", "assignee", "site")


def conversation_get_for_actor(*, actor: Actor, conversation_id: int) -> Conversation:
    try:
        return conversation_for_actor_queryset(actor=actor).get(pk=conversation_id)
    except Conversation.DoesNotExist as exc:
        # Same answer for "missing" and "not yours": ids must not be probeable.
        raise NotFound("No such conversation.") from exc


def conversation_list_for_actor(
    *, actor: Actor, statuses: list[str] | None = None, limit: int = 100
) -> list[Conversation]:
    qs = conversation_list_queryset(actor=actor, statuses=statuses, limit=limit)
    return list(qs.prefetch_related(_participants()))


def conversation_list_queryset(
    *, actor: Actor, statuses: list[str] | None = None, limit: int = 100
) -> QuerySet[Conversation]:
    """conversation_list_for_actor's statement, without the participants."""
    qs = _visible_conversations(actor).select_related("customer", "queue", "assignee")
    if statuses:
        qs = qs.filter(status__in=statuses)
    elif actor.kind == "agent":
        qs = qs.filter(status__in=Conversation.OPEN_STATUSES)
    return qs.order_by("-priority", "queued_at", "-id")[:limit]


def participants_queryset() -> QuerySet[Participant]:
    """Participants with their customer and user in one statement, not three, in the order
    they joined (a payload's list is the same at every read)."""
    # The agent's profile too: their name is its display name (chat.names).
    return Participant.objects.select_related("customer", "user__agent_profile").order_by("id")


def _participants() -> Prefetch:
    # Every socket's hello reads them, and a reconnect storm runs thousands at once.
    return Prefetch("participants", queryset=participants_queryset())


def customers_for_actor(*, actor: Actor) -> QuerySet[Customer]:
    """API keys see their site's customers (all sites' without one); supervisors all."""
    if actor.kind == "service":
        site_id = actor.api_key.site_id
        return Customer.objects.filter(site_id=site_id) if site_id else Customer.objects.all()
    if actor.kind == "agent" and actor.is_supervisor:
        return Customer.objects.all()
    raise PermissionDenied("Only supervisors and API keys read or write customers.")


def customer_get_for_actor(*, actor: Actor, customer_id: int) -> Customer:
    try:
        return customers_for_actor(actor=actor).get(pk=customer_id)
    except Customer.DoesNotExist as exc:
        raise NotFound("No such customer.") from exc


def participant_get_for_actor(*, actor: Actor, conversation: Conversation) -> Participant:
    """The participant an actor writes as. Raises PermissionDenied if it may not write."""
    qs = Participant.objects.select_related("customer", "user").filter(
        conversation_id=conversation.pk, left_at__isnull=True
    )
    return participant_pick_for_actor(actor=actor, participants=qs)


def participant_pick_for_actor(*, actor: Actor, participants: Iterable[Participant]) -> Participant:
    """The participant an actor writes as, among a conversation's active participants (a
    sender that has them already, for its fan-out, reads them once). PermissionDenied if
    none: a customer writes as their own participant, an agent as an agent participant."""
    for p in participants:
        if actor.kind == "customer" and p.customer_id == actor.customer.pk:
            return p
        if (
            actor.kind == "agent"
            and p.user_id == actor.user.pk
            and p.role == Participant.Role.AGENT
        ):
            return p
    raise PermissionDenied("You are not a participant of this conversation.")


def messages_after(
    *, actor: Actor, conversation_id: int, after_seq: int, limit: int
) -> tuple[Conversation, list[Message]]:
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    messages = messages_after_queryset(
        conversation_id=conversation.pk, after_seq=after_seq, limit=limit
    ).prefetch_related("translations")  # the per-viewer payload shows them
    return conversation, list(messages)


def messages_after_queryset(*, conversation_id: int, after_seq: int, limit: int) -> QuerySet:
    """messages_after's statement, without the translations."""
    return (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .select_related("sender__customer", "sender__user")
        .order_by("seq")[:limit]
    )


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


def messages_filtered_for_actor(
    *, actor: Actor, conversation_id: int, **filters: Any
) -> tuple[Conversation, QuerySet[Message]]:
    """The REST list: a conversation's messages the actor may read, filtered (validated by
    the caller): after_seq, before_seq (exclusive), sender_type (list of roles), since and
    until (created time, until exclusive). Unordered: the caller's cursor orders."""
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    lookups = {
        "after_seq": "seq__gt",
        "before_seq": "seq__lt",
        "sender_type": "sender__role__in",
        "since": "created_at__gte",
        "until": "created_at__lt",
    }
    qs = Message.objects.filter(conversation_id=conversation.pk)
    for name, lookup in lookups.items():
        value = filters.get(name)
        if value not in (None, [], ""):
            qs = qs.filter(**{lookup: value})
    qs = qs.select_related("sender__customer", "sender__user").prefetch_related("translations")
    return conversation, qs


def messages_payload(*, actor: Actor, conversation: Conversation, messages: list) -> list[dict]:
    """Each message as this actor may see it (the same shape as message.new)."""
    viewer = viewer_for_actor(actor=actor, conversation=conversation)
    enabled = engine_name() != "off"
    return [message_payload(m, viewer=viewer, translation_enabled=enabled) for m in messages]


def resume_page(*, actor: Actor, conversation_id: int, after_seq: int, limit: int) -> dict:
    """The messages after a seq, in order, plus the conversation's current state; each
    message as this actor may see it (the same shape as message.new)."""
    conversation, messages = messages_after(
        actor=actor, conversation_id=conversation_id, after_seq=after_seq, limit=limit
    )
    return {
        "conversation": conversation_payload(conversation),
        "messages": messages_payload(actor=actor, conversation=conversation, messages=messages),
        "has_more": bool(messages) and messages[-1].seq < conversation.last_seq,
    }


def conversation_events_for_actor(*, actor: Actor, conversation_id: int) -> list:
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    return list(conversation.events.order_by("created_at", "id"))


def notes_for_actor(
    *, actor: Actor, conversation_id: int, after_id: int = 0, limit: int = 200
) -> tuple[Conversation, list]:
    """A conversation's internal notes after a note id, oldest first: agents (and API
    keys of its site) only. A customer gets the same not_found as for a missing id."""
    if actor.kind == "customer":
        raise NotFound("No such conversation.")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    notes = list(conversation.notes.filter(id__gt=after_id).order_by("id")[:limit])
    return conversation, notes


def csat_report(*, actor: Actor, site_id: int | None = None) -> dict[str, Any]:
    """CSAT after agents' chats: count, average and the spread of scores, overall and per
    agent, for supervisors and API keys (an API key sees its own site's)."""
    from_key = actor.kind == "service"
    if not from_key and not actor.is_supervisor:
        raise PermissionDenied("Only supervisors and API keys read reports.")
    ratings = CsatRating.objects.all()
    if from_key and actor.api_key.site_id:
        ratings = ratings.filter(site_id=actor.api_key.site_id)
    elif site_id:
        ratings = ratings.filter(site_id=site_id)
    overall = ratings.aggregate(count=Count("id"), average=Avg("score"))
    spread = dict(ratings.values_list("score").annotate(n=Count("id")).order_by())
    agents = (
        ratings.filter(agent__isnull=False)
        .values("agent_id", "agent__username")
        .annotate(count=Count("id"), average=Avg("score"))
        .order_by("agent__username")
    )
    return {
        "count": overall["count"],
        "average": round(overall["average"], 2) if overall["average"] is not None else None,
        "scores": {str(n): spread.get(n, 0) for n in range(1, 6)},
        "agents": [
            {
                "agent": row["agent_id"],
                "username": row["agent__username"],
                "count": row["count"],
                "average": round(row["average"], 2),
            }
            for row in agents
        ],
    }
