"""The only code that changes conversation state or publishes conversation events.

Every service is keyword-only, typed and atomic. Events leave through chat.realtime after
commit, with payloads built here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat import realtime
from chat.actors import Actor
from chat.exceptions import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from chat.models import (
    ApiKey,
    Conversation,
    ConversationEvent,
    Customer,
    Message,
    Participant,
    Site,
    hash_api_key,
)
from chat.payloads import conversation_payload
from chat.pipeline import services as pipeline
from chat.selectors import (
    VISITOR_TOKEN_SALT,
    conversation_get_for_actor,
    customer_get_from_token,
    participant_get_for_actor,
    participant_groups,
)

CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")


# --- validation helpers -------------------------------------------------------------------
def clean_body(body: Any) -> str:
    if not isinstance(body, str):
        raise ValidationError("body must be a string.", code="invalid_field", field="body")
    body = body.strip()
    if not body:
        raise ValidationError("body must not be empty.", code="invalid_field", field="body")
    limit = settings.PARLEY["MESSAGE_MAX_CHARS"]
    if len(body) > limit:
        raise ValidationError(
            f"body is longer than {limit} characters.", code="too_large", field="body"
        )
    return body


def clean_client_msg_id(value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not CLIENT_MSG_ID_RE.match(value):
        raise ValidationError(
            "client_msg_id must be 1-64 characters of A-Z a-z 0-9 _ . : -",
            code="invalid_field",
            field="client_msg_id",
        )
    return value


def clean_choice(value: Any) -> str | None:
    """A bot button id sent with a customer's click (optional)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise ValidationError(
            "choice must be a button id of 1-64 characters.", code="invalid_field", field="choice"
        )
    return value


def clean_locale(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not LOCALE_RE.match(value):
        raise ValidationError("locale must look like 'en' or 'fr-CA'.", field="locale")
    return value.replace("_", "-").lower()


# --- visitors -------------------------------------------------------------------------------
def visitor_token_issue(*, customer: Customer) -> str:
    return signing.dumps({"c": customer.pk, "s": customer.site_id}, salt=VISITOR_TOKEN_SALT)


def identity_hash(*, site: Site, external_id: str) -> str:
    """What the integrator's backend computes to vouch for a logged-in customer."""
    return hmac.new(site.identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def visitor_session_create(
    *,
    site_key: str,
    origin: str | None,
    token: str | None = None,
    external_id: str | None = None,
    user_hash: str | None = None,
    name: str | None = None,
    email: str | None = None,
    locale: str | None = None,
) -> tuple[Customer, str]:
    """Start or resume a widget visitor; returns the customer and a fresh signed token.

    An external id counts only when signed with the site's identity secret: an unsigned
    one could be anyone's, so it is refused rather than trusted.
    """
    site = Site.objects.filter(key=site_key).first()
    if site is None:
        raise NotFound("No such site.", code="site_not_found")
    if not site.origin_allowed(origin):
        raise PermissionDenied("This origin may not embed the widget.", code="origin_not_allowed")
    locale = clean_locale(locale)

    verified = False
    if external_id:
        expected = identity_hash(site=site, external_id=external_id)
        if not user_hash or not hmac.compare_digest(expected, str(user_hash)):
            raise AuthenticationFailed(
                "The identity signature is invalid.", code="identity_invalid"
            )
        verified = True
    elif site.require_identity:
        raise AuthenticationFailed(
            "This site requires a verified identity.", code="identity_required"
        )

    customer = None
    if token:
        try:
            customer = customer_get_from_token(token=token)
        except AuthenticationFailed:
            customer = None  # an old or foreign token starts a fresh visitor
        if customer is not None and customer.site_id != site.pk:
            customer = None
        if customer is not None and verified and customer.external_id not in (None, external_id):
            customer = None  # another identified user on the same browser
    if verified:
        existing = Customer.objects.filter(site=site, external_id=external_id).first()
        if existing is not None:
            customer = existing
        elif customer is not None:
            customer.external_id = external_id
            customer.identity_verified = True
    if customer is None:
        customer = Customer(site=site, external_id=external_id if verified else None)
        customer.identity_verified = verified
    if name:
        customer.name = str(name)[:200]
    if email:
        customer.email = str(email)[:254]
    if locale:
        customer.locale = locale
    customer.last_seen_at = timezone.now()
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        # Two tabs identified the same external id at once: the other one won; use it.
        customer = Customer.objects.get(site=site, external_id=external_id)
    return customer, visitor_token_issue(customer=customer)


# --- conversations --------------------------------------------------------------------------
def conversation_publish(*, conversation: Conversation, to_agents: bool = True) -> None:
    """Queue a conversation.updated frame to its participants (and the agents' lobby)."""
    participants = list(
        Participant.objects.filter(conversation_id=conversation.pk).select_related(
            "customer", "user"
        )
    )
    frame = {
        "type": "conversation.updated",
        "conversation": conversation_payload(conversation, participants),
    }
    groups = participant_groups(conversation_id=conversation.pk)
    if to_agents:
        groups.append(realtime.AGENTS_GROUP)
    realtime.publish_on_commit(groups, frame)


def conversation_transition(
    *,
    conversation: Conversation,
    to_status: str,
    reason: str,
    actor: str,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Conversation:
    """Change status on a row the caller has locked, and record it on the timeline."""
    from_status = conversation.status
    conversation.status = to_status
    for name, value in fields.items():
        setattr(conversation, name, value)
    conversation.save(update_fields=["status", "updated_at", *fields.keys()])
    ConversationEvent.objects.create(
        conversation=conversation,
        type="status_changed",
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        actor=actor,
        data=data or {},
    )
    return conversation


def event_record(
    *, conversation: Conversation, type: str, reason: str = "", actor: str = "", data=None
) -> ConversationEvent:
    return ConversationEvent.objects.create(
        conversation=conversation, type=type, reason=reason, actor=actor, data=data or {}
    )


def _lock(conversation_id: int) -> Conversation:
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer", "queue", "assignee", "site")
        .get(pk=conversation_id)
    )


@transaction.atomic
def conversation_start(
    *, actor: Actor, language: str | None = None, subject: str = ""
) -> tuple[Conversation, bool]:
    """Return the customer's open conversation, or open a new one and hand it to the bot.

    Idempotent: a widget that retries, or two tabs starting at once, get the same
    conversation, because the customer row is locked while we look.
    """
    if actor.kind != "customer":
        raise PermissionDenied("Only a customer starts a conversation.")
    customer = Customer.objects.select_for_update().select_related("site").get(pk=actor.customer.pk)
    current = (
        Conversation.objects.filter(customer=customer, status__in=Conversation.OPEN_STATUSES)
        .order_by("-id")
        .first()
    )
    if current is not None:
        return _lock(current.pk), False
    language = clean_locale(language) or customer.locale
    conversation = Conversation.objects.create(
        site=customer.site,
        customer=customer,
        status=Conversation.Status.BOT,
        language=language,
        subject=str(subject or "")[:200],
    )
    Participant.objects.create(
        conversation=conversation,
        role=Participant.Role.CUSTOMER,
        customer=customer,
        language=language,
    )
    event_record(conversation=conversation, type="created", actor=actor.label, reason="widget")
    from bots.services import bot_session_start

    bot_session_start(conversation=conversation)
    conversation = _lock(conversation.pk)
    conversation_publish(conversation=conversation)
    return conversation, True


def _system_participant(conversation: Conversation, role: str) -> Participant:
    participant, _ = Participant.objects.get_or_create(conversation=conversation, role=role)
    return participant


def message_create(
    *,
    conversation: Conversation,
    sender: Participant,
    body: str,
    kind: str = Message.Kind.TEXT,
    data: dict[str, Any] | None = None,
    client_msg_id: str | None = None,
    audience: list | None = None,
) -> Message:
    """Insert a message with the next seq on a conversation row the caller has locked,
    and publish message.new after commit. ``audience``: ``pipeline.viewers()`` when the
    caller posts several messages under one lock and already has it."""
    seq = conversation.last_seq + 1
    # Moderated here, in-process, before anyone is told: the recipients' copy never waits
    # for a worker (detection and translation follow in Celery; chat/pipeline).
    outcome = pipeline.message_moderate(
        conversation=conversation, sender=sender, body=body, kind=kind
    )
    if outcome.blocked:
        raise pipeline.MessageBlocked(
            outcome,
            body=body,
            conversation_id=conversation.pk,
            sender_id=sender.pk,
            client_msg_id=client_msg_id,
        )
    state = pipeline.initial_pipeline_state(kind)
    message = Message.objects.create(
        conversation=conversation,
        seq=seq,
        sender=sender,
        kind=kind,
        body=body,
        data=data or {},
        client_msg_id=client_msg_id,
        pipeline=state,
        pipeline_queued_at=timezone.now() if state == Message.Pipeline.PENDING else None,
        **outcome.fields(),
    )
    conversation.last_seq = seq
    conversation.last_message_at = message.created_at
    Conversation.objects.filter(pk=conversation.pk).update(
        last_seq=seq, last_message_at=message.created_at
    )
    # The sender has seen their own message.
    Participant.objects.filter(pk=sender.pk, read_seq__lt=seq).update(
        read_seq=seq, delivered_seq=seq
    )
    if outcome.moderation == Message.Moderation.FLAGGED:
        pipeline.message_flag_record(message=message)
    # Each participant gets their own view (the sender their text, the others the moderated
    # copy); consoles in the waiting list get the others' view for the live preview.
    pipeline.message_publish(
        message=message,
        conversation=conversation,
        frame_type="message.new",
        sender=sender,
        translations=[],
        audience=audience,
    )
    pipeline.message_pipeline_queue(message=message)
    return message


def event_message_post(
    *, conversation: Conversation, body: str, data=None, audience: list | None = None
) -> Message:
    """A timeline line in the transcript ("Ana joined"), on a locked conversation."""
    return message_create(
        conversation=conversation,
        sender=_system_participant(conversation, Participant.Role.SYSTEM),
        body=body,
        kind=Message.Kind.EVENT,
        data=data,
        audience=audience,
    )


@pipeline.records_blocked  # outside the transaction: the attempt is kept after rollback
@transaction.atomic
def message_send(
    *,
    actor: Actor,
    conversation_id: int,
    body: Any,
    client_msg_id: Any,
    choice: Any = None,
) -> tuple[Message, bool]:
    """Store a message from a customer or an agent. Returns (message, created).

    A retry with the same client_msg_id returns the stored message and creates nothing.
    `choice` is the id of the bot button the customer clicked (the body is its label).
    """
    body = clean_body(body)
    client_msg_id = clean_client_msg_id(client_msg_id)
    choice = clean_choice(choice)
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    sender = participant_get_for_actor(actor=actor, conversation=conversation)
    # The row lock serialises senders of one conversation: seq order is commit order, and
    # two concurrent retries of one client_msg_id cannot both insert.
    conversation = _lock(conversation.pk)
    existing = Message.objects.filter(
        conversation=conversation, sender=sender, client_msg_id=client_msg_id
    ).first()
    if existing is not None:
        return existing, False
    if conversation.status in (Conversation.Status.RESOLVED, Conversation.Status.ABANDONED):
        if actor.kind != "customer":
            raise Conflict(
                "The conversation is closed; reopen it first.", code="conversation_closed"
            )
        conversation_reopen_locked(conversation=conversation, actor=actor, reason="customer wrote")
    message = message_create(
        conversation=conversation,
        sender=sender,
        body=body,
        client_msg_id=client_msg_id,
        data={"choice": choice} if choice else None,
    )
    if conversation.status == Conversation.Status.BOT and actor.kind == "customer":
        from bots.services import bot_session_advance

        # One bot step per customer action, in this transaction, under this row lock: the
        # step commits with the message, and a retried send (above) never runs it twice.
        bot_session_advance(conversation=conversation, message=message, choice=choice)
    return message, True


@transaction.atomic
def system_message_post(
    *,
    actor: Actor,
    conversation_id: int,
    body: Any,
    client_msg_id: Any = None,
    data: Any = None,
) -> tuple[Message, bool]:
    """A backend service posts a system message (an order update, a CRM note)."""
    if actor.kind != "service":
        raise PermissionDenied("Only an API key may post system messages.")
    body = clean_body(body)
    client_msg_id = clean_client_msg_id(client_msg_id, required=False)
    if data is not None and not isinstance(data, dict):
        raise ValidationError("data must be an object.", field="data")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = _lock(conversation.pk)
    sender = _system_participant(conversation, Participant.Role.SYSTEM)
    if client_msg_id:
        existing = Message.objects.filter(
            conversation=conversation, sender=sender, client_msg_id=client_msg_id
        ).first()
        if existing is not None:
            return existing, False
    message = message_create(
        conversation=conversation,
        sender=sender,
        body=body,
        kind=Message.Kind.SYSTEM,
        data={**(data or {}), "source": actor.api_key.name},
        client_msg_id=client_msg_id,
    )
    ApiKey.objects.filter(pk=actor.api_key.pk).update(last_used_at=timezone.now())
    return message, True


def _seq_value(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} must be a non-negative integer.", field=field)
    return value


@transaction.atomic
def receipt_update(
    *,
    actor: Actor,
    conversation_id: int,
    delivered_seq: Any = None,
    read_seq: Any = None,
) -> Participant:
    """Move a participant's delivered/read cursors forward (never back)."""
    delivered_seq = _seq_value(delivered_seq, "delivered_seq")
    read_seq = _seq_value(read_seq, "read_seq")
    if delivered_seq is None and read_seq is None:
        raise ValidationError("Give delivered_seq or read_seq.", field="delivered_seq")
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    participant = participant_get_for_actor(actor=actor, conversation=conversation)
    top = conversation.last_seq
    read = min(read_seq, top) if read_seq is not None else None
    delivered = min(max(delivered_seq or 0, read or 0), top)
    # Conditional updates keep cursors monotonic under concurrent tabs without a lock.
    changed = 0
    if read is not None:
        changed += Participant.objects.filter(pk=participant.pk, read_seq__lt=read).update(
            read_seq=read
        )
    changed += Participant.objects.filter(pk=participant.pk, delivered_seq__lt=delivered).update(
        delivered_seq=delivered
    )
    participant.refresh_from_db(fields=["delivered_seq", "read_seq"])
    if changed:
        realtime.publish_on_commit(
            participant_groups(conversation_id=conversation.pk),
            {
                "type": "receipt.updated",
                "conversation": conversation.pk,
                "participant": participant.pk,
                "role": participant.role,
                "delivered_seq": participant.delivered_seq,
                "read_seq": participant.read_seq,
            },
        )
    return participant


def typing_target(*, actor: Actor, conversation_id: int) -> dict[str, Any]:
    """What a socket caches to relay typing for one conversation without further queries."""
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    participant = participant_get_for_actor(actor=actor, conversation=conversation)
    return {
        "participant": participant.pk,
        "role": participant.role,
        "name": participant.display_name,
        "groups": participant_groups(conversation_id=conversation.pk),
    }


def typing_frame(*, conversation_id: int, target: dict[str, Any], state: Any) -> dict[str, Any]:
    if state not in ("start", "stop"):
        raise ValidationError("state must be 'start' or 'stop'.", field="state")
    return {
        "type": "typing",
        "conversation": conversation_id,
        "participant": target["participant"],
        "role": target["role"],
        "name": target["name"],
        "state": state,
    }


@transaction.atomic
def conversation_resolve(*, actor: Actor, conversation_id: int, reason: str = "") -> Conversation:
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    if (actor.kind == "agent" and not actor.is_supervisor) or actor.kind == "customer":
        participant_get_for_actor(actor=actor, conversation=conversation)
    conversation = _lock(conversation.pk)
    if conversation.status == Conversation.Status.RESOLVED:
        return conversation  # idempotent
    if conversation.status == Conversation.Status.ABANDONED:
        raise Conflict("The conversation was abandoned.", code="conversation_closed")
    from_status = conversation.status
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.RESOLVED,
        reason=reason or f"resolved by {actor.kind}",
        actor=actor.label,
        resolved_at=timezone.now(),
    )
    from routing.services import conversation_released

    # Same transaction: the agent's chat slot comes back (or a pending offer is withdrawn).
    conversation_released(conversation=conversation, from_status=from_status, reason="resolved")
    who = "the customer" if actor.kind == "customer" else _actor_name(actor)
    event_message_post(conversation=conversation, body=f"Conversation resolved by {who}.")
    conversation_publish(conversation=conversation)
    return conversation


def conversation_reopen_locked(*, conversation: Conversation, actor: Actor, reason: str) -> None:
    conversation_transition(
        conversation=conversation,
        to_status=Conversation.Status.REOPENED,
        reason=reason,
        actor=actor.label,
        resolved_at=None,
        assignee=None,
    )
    event_message_post(conversation=conversation, body="Conversation reopened.")
    from routing.services import conversation_enqueue

    conversation_enqueue(conversation=conversation, reason="reopened")


@transaction.atomic
def conversation_reopen(*, actor: Actor, conversation_id: int) -> Conversation:
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    conversation = _lock(conversation.pk)
    if conversation.status not in (Conversation.Status.RESOLVED, Conversation.Status.ABANDONED):
        raise Conflict("Only a closed conversation can be reopened.", code="conversation_open")
    conversation_reopen_locked(conversation=conversation, actor=actor, reason="reopened")
    conversation_publish(conversation=conversation)
    return conversation


def _actor_name(actor: Actor) -> str:
    if actor.kind == "agent":
        return actor.user.get_full_name() or actor.user.get_username()
    return actor.label


# --- API keys -------------------------------------------------------------------------------
def api_key_secret_generate() -> tuple[str, str, str]:
    """A new raw key with its prefix and hash; only the hash is ever stored."""
    raw = "pk_" + secrets.token_urlsafe(32)
    return raw, raw[:10], hash_api_key(raw)


def api_key_create(*, name: str, site: Site | None = None) -> tuple[ApiKey, str]:
    """Create a key; the raw value is returned once and never stored."""
    raw, prefix, key_hash = api_key_secret_generate()
    key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=key_hash, site=site)
    return key, raw
