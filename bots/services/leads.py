"""Lead capture: what the bot collected is stored on the Customer."""

from __future__ import annotations

from typing import Any

from chat.models import Customer

# Attributes that fill the Customer's own columns; everything else goes to its JSON.
CONTACT_FIELDS = {"email": 254, "name": 200}
CONTACT_ATTRIBUTES = ("email", "phone")


def customer_attributes_store(*, customer: Customer, attributes: dict[str, Any]) -> Customer:
    """Merge collected attributes into the customer (one UPDATE).

    A verified customer's name and email came from the site's own backend, so the bot does
    not overwrite them; what the customer typed is kept in ``attributes`` instead.
    """
    if not attributes:
        return customer
    fields: set[str] = set()
    extra = dict(customer.attributes or {})
    for key, value in attributes.items():
        if key in CONTACT_FIELDS and isinstance(value, str) and value:
            current = getattr(customer, key)
            if not customer.identity_verified or not current:
                if current != value:
                    setattr(customer, key, value[: CONTACT_FIELDS[key]])
                    fields.add(key)
                continue
        if extra.get(key) != value:
            extra[key] = value
            fields.add("attributes")
    if "attributes" in fields:
        customer.attributes = extra
    if fields:
        customer.save(update_fields=sorted(fields))
    return customer


def lead_contact(attributes: dict[str, Any]) -> dict[str, Any]:
    """The contact details among collected attributes (empty: not a lead yet)."""
    return {k: attributes[k] for k in CONTACT_ATTRIBUTES if attributes.get(k)}
