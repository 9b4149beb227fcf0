"""What the widget asks the customer: the pre-chat form's answers, and an email address for
the answer to an offline message; both stored on the customer."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from chat.actors import Actor
from chat.exceptions import Conflict, PermissionDenied, ValidationError
from chat.models import Conversation, Customer
from chat.prechat import answers_clean
from chat.selectors import conversation_get_for_actor
from chat.services.conversations import event_record


@transaction.atomic
def prechat_submit(*, actor: Actor, values: Any) -> Customer:
    """Check the answers against the site's form; name and email go to the customer's
    columns (not over a verified identity's), consent with its time, the rest into the
    customer's attributes (``prechat``), which agents see."""
    if actor.kind != "customer":
        raise PermissionDenied("Only a visitor fills in the pre-chat form.")
    customer = (
        # Not the site's row, and not against foreign-key checks (see conversation_open).
        Customer.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site")
        .get(pk=actor.customer.pk)
    )
    form = customer.site.prechat_form
    if not form or not form.get("fields"):
        raise Conflict("This site has no pre-chat form.", code="no_prechat_form")
    clean = answers_clean(form, values)
    now = timezone.now()
    attributes = dict(customer.attributes)
    if not customer.identity_verified:
        if clean.get("name"):
            customer.name = clean["name"][:200]
        if clean.get("email"):
            customer.email = clean["email"][:254]
    if "consent" in clean:
        attributes["consent"] = {"given": clean["consent"], "at": now.isoformat()}
    custom = {k: v for k, v in clean.items() if k not in ("name", "email", "consent")}
    if custom:
        attributes["prechat"] = {**attributes.get("prechat", {}), **custom}
    attributes["prechat_at"] = now.isoformat()
    customer.attributes = attributes
    customer.save(update_fields=["name", "email", "attributes"])
    return customer


@transaction.atomic
def offline_contact_leave(*, actor: Actor, conversation_id: int, email: Any) -> Customer:
    """While the conversation waits as an offline message (queue closed or over its limit),
    the customer leaves an email address for the answer: stored on the customer (not over a
    verified identity's) and put on the conversation's timeline for the agent who answers."""
    if actor.kind != "customer":
        raise PermissionDenied("Only the customer leaves their contact.")
    if not isinstance(email, str) or not email.strip():
        raise ValidationError("email is required.", field="email")
    email = email.strip()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationError("This email address is not valid.", field="email") from exc
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    if conversation.status not in Conversation.WAITING_STATUSES:
        raise Conflict("The conversation is not waiting.", code="not_waiting")
    customer = Customer.objects.select_for_update().get(pk=actor.customer.pk)
    if not customer.identity_verified or not customer.email:
        customer.email = email[:254]
        customer.save(update_fields=["email"])
    event_record(
        conversation=conversation,
        type="offline.contact",
        actor=actor.label,
        reason="the customer left an email address for the answer",
        data={"email": email},
    )
    return customer
