"""The visitor's answers to their site's pre-chat form, stored on the customer."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.actors import Actor
from chat.exceptions import Conflict, PermissionDenied
from chat.models import Customer
from chat.prechat import answers_clean


@transaction.atomic
def prechat_submit(*, actor: Actor, values: Any) -> Customer:
    """Check the answers against the site's form; name and email go to the customer's
    columns (not over a verified identity's), consent with its time, the rest into the
    customer's attributes (``prechat``), which agents see."""
    if actor.kind != "customer":
        raise PermissionDenied("Only a visitor fills in the pre-chat form.")
    customer = Customer.objects.select_for_update().select_related("site").get(pk=actor.customer.pk)
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
