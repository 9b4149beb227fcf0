"""A customer's erasure across the apps: the core blanks the customer and what they
wrote, integrations the copies of it in the webhook outbox and delivery log."""

from __future__ import annotations

from django.db import transaction

from chat.actors import Actor
from chat.models import Conversation, Customer
from chat.services import customers as chat_customers
from integrations.services.erasure import hooks_erase_for


def customer_erase(*, actor: Actor, customer: Customer) -> dict[str, int]:
    with transaction.atomic():
        counts = chat_customers.customer_erase(actor=actor, customer=customer)
        # The core's erase holds the customer's row and its conversations' (KEY SHARE):
        # no conversation can start or go meanwhile, so the list is the one it erased.
        ids = list(
            Conversation.objects.filter(customer_id=customer.pk).values_list("id", flat=True)
        )
        counts["webhook_events"] = hooks_erase_for(conversation_ids=ids)
    return counts
