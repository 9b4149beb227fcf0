"""Customers as integrations see them: update, GDPR export and erasure."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chat.actors import Actor
from chat.exceptions import Conflict, ValidationError
from chat.models import (
    BlockedMessage,
    Conversation,
    ConversationEvent,
    Customer,
    Message,
    MessageTranslation,
    Participant,
)
from chat.services.attachments import attachments_erase_for
from chat.services.validation import clean_locale

ERASED = "[erased]"
# Written by the widget (chat.services.prechat), kept when an integration replaces the rest.
WIDGET_ATTRIBUTES = frozenset({"consent", "prechat", "prechat_at"})


def _text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise ValidationError(
            f"{field} must be text of at most {max_length} characters.", field=field
        )
    return value.strip()


@transaction.atomic
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    """Change what an integration knows of a customer: name, email, locale, external id,
    attributes. A taken external id is a 409."""
    changed = []
    if "name" in fields:
        customer.name = _text(fields["name"], "name", 200)
        changed.append("name")
    if "email" in fields:
        email = _text(fields["email"], "email", 254)
        if email:
            try:
                validate_email(email)
            except DjangoValidationError as exc:
                raise ValidationError("email is not an email address.", field="email") from exc
        customer.email = email
        changed.append("email")
    if "locale" in fields:
        customer.locale = clean_locale(fields["locale"]) or ""
        changed.append("locale")
    if "external_id" in fields:
        value = fields["external_id"]
        customer.external_id = (
            _text(value, "external_id", 200) or None if value is not None else None
        )
        changed.append("external_id")
    if "attributes" in fields:
        if not isinstance(fields["attributes"], dict):
            raise ValidationError("attributes must be an object.", field="attributes")
        # What the widget recorded (the customer's consent, pre-chat answers) stays unless
        # the caller names it: a CRM's routine sync of {"plan": "pro"} erased the
        # customer's recorded GDPR consent.
        kept = {k: v for k, v in (customer.attributes or {}).items() if k in WIDGET_ATTRIBUTES}
        customer.attributes = {**kept, **fields["attributes"]}
        changed.append("attributes")
    if changed:
        try:
            with transaction.atomic():
                customer.save(update_fields=changed)
        except IntegrityError as exc:
            raise Conflict(
                "Another customer of this site has that external_id.", code="external_id_taken"
            ) from exc
    return customer


@transaction.atomic
def customer_upsert(
    *, site_id: int, external_id: Any, fields: dict[str, Any]
) -> tuple[Customer, bool]:
    """Create or update the site's customer known by ``external_id`` (a CRM's sync: one
    call, whatever Parley already holds); returns it and whether it was created. Two calls
    racing on a new id: the unique constraint lets one create, the other updates."""
    if external_id is None:
        raise ValidationError(
            "external_id is required: the id your system knows the customer by.",
            field="external_id",
        )
    external = _text(external_id, "external_id", 200)
    if not external:
        raise ValidationError("external_id must not be empty.", field="external_id")
    fields = {k: v for k, v in fields.items() if k != "external_id"}
    found = Customer.objects.select_for_update().filter(site_id=site_id, external_id=external)
    customer, created = found.first(), False
    if customer is None:
        try:
            with transaction.atomic():  # a savepoint: the loser of a race updates instead
                customer, created = (
                    Customer.objects.create(site_id=site_id, external_id=external),
                    True,
                )
        except IntegrityError:
            customer = found.get()
    return customer_update(customer=customer, **fields), created


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """Everything stored about a customer (GDPR art. 15 and 20): their record, their
    conversations with every message (as written), and the timelines."""
    conversations = []
    qs = Conversation.objects.filter(customer=customer).order_by("id")
    for conversation in qs.prefetch_related("events"):
        messages = (
            Message.objects.filter(conversation=conversation)
            .select_related("sender")
            .order_by("seq")
        )
        conversations.append(
            {
                "id": conversation.pk,
                "status": conversation.status,
                "subject": conversation.subject,
                "language": conversation.language,
                "created_at": conversation.created_at.isoformat(),
                "resolved_at": conversation.resolved_at.isoformat()
                if conversation.resolved_at
                else None,
                "messages": [
                    {
                        "seq": m.seq,
                        "kind": m.kind,
                        "from": m.sender.role,
                        "body": m.body,
                        "data": m.data,
                        "language": m.language,
                        "created_at": m.created_at.isoformat(),
                    }
                    for m in messages
                ],
                "events": [
                    {
                        "type": e.type,
                        "reason": e.reason,
                        "created_at": e.created_at.isoformat(),
                    }
                    for e in conversation.events.all()
                ],
            }
        )
    return {
        "customer": {
            "id": customer.pk,
            "site": customer.site_id,
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
            "locale": customer.locale,
            "attributes": customer.attributes,
            "identity_verified": customer.identity_verified,
            "created_at": customer.created_at.isoformat(),
            "last_seen_at": customer.last_seen_at.isoformat() if customer.last_seen_at else None,
        },
        "conversations": conversations,
        "exported_at": timezone.now().isoformat(),
    }


def _conversations_key_shared(customer_id: int) -> list[int]:
    """The customer's conversation ids, their rows held FOR KEY SHARE in id order (the ORM
    knows FOR UPDATE and FOR NO KEY UPDATE only); a plain read where rows are not locked."""
    qs = Conversation.objects.filter(customer_id=customer_id).order_by("id")
    if connection.vendor != "postgresql":
        return list(qs.values_list("id", flat=True))
    sql, params = qs.values_list("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE", params)
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def customer_erase(*, actor: Actor, customer: Customer) -> dict[str, int]:
    """Erase a customer's personal data (GDPR art. 17): their record is blanked and what
    they wrote is replaced by "[erased]" (translations and blocked attempts deleted). The
    conversations stay, with the agents' side and the timeline, so that reports add up; each
    gets an ``customer.erased`` timeline entry. Idempotent."""
    # One order for every writer: the customer's row, then its conversations (by id), as
    # conversation_open does. The writers of a conversation (resolve, reopen, tags, sends)
    # hold its row FOR UPDATE and touch the customer's only through the deferred foreign
    # key checks, FOR KEY SHARE at their commit (a conversation row updated twice in one
    # transaction is checked again). So the customer is locked FOR NO KEY UPDATE, which
    # lets those checks through: the plain FOR UPDATE blocked them while this erase waited
    # at its own commit for the conversations' rows (the events below name them), and
    # PostgreSQL broke the cycle with a 500. Locking the conversations first instead would
    # reverse conversation_open's order (customer, then conversation): a deadlock with a
    # widget starting. The erased external_id is in a partial unique index only, so the
    # save below stays a no-key update; a full unique index there would bring this back.
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    # The conversations' rows FOR KEY SHARE, in id order, before any message is touched:
    # it is what the timeline events need anyway, taken here rather than at commit. An
    # action holding one of them (FOR UPDATE) finishes first, so none of its rows is ours
    # when it needs them; and it does not wait on the pipeline, which updates a message
    # and takes the same share of its conversation. No conversation can start meanwhile
    # (conversation_open waits for the customer's row), so the list is complete.
    conversation_ids = _conversations_key_shared(customer.pk)
    customer.name, customer.email, customer.locale = "", "", ""
    customer.external_id = None
    customer.identity_verified = False
    customer.attributes = {"erased_at": timezone.now().isoformat()}
    customer.save()
    senders = Participant.objects.filter(customer=customer)
    written = Message.objects.filter(sender__in=senders).exclude(body=ERASED)
    MessageTranslation.objects.filter(message__in=written).delete()
    erased = written.update(body=ERASED, body_moderated="", data={}, moderation_flags=[])
    blocked, _ = BlockedMessage.objects.filter(sender__in=senders).delete()
    attachments_erase_for(actor=Actor.for_customer(customer))  # their files go too
    ConversationEvent.objects.bulk_create(
        ConversationEvent(
            conversation_id=cid,
            type="customer.erased",
            reason="GDPR erasure",
            actor=actor.label,
            data={"messages": erased},
        )
        for cid in conversation_ids
    )
    return {"messages": erased, "blocked": blocked, "conversations": len(conversation_ids)}
