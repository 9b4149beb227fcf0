"""Who is acting: a customer (visitor token), an agent (Django session) or a backend
service (API key). Selectors check permissions against an Actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from chat.models import ApiKey, Customer


@dataclass(frozen=True)
class Actor:
    kind: Literal["customer", "agent", "service"]
    customer: Customer | None = None
    user: AbstractBaseUser | None = None
    api_key: ApiKey | None = None

    @classmethod
    def for_customer(cls, customer: Customer) -> Actor:
        return cls(kind="customer", customer=customer)

    @classmethod
    def for_agent(cls, user: AbstractBaseUser) -> Actor:
        return cls(kind="agent", user=user)

    @classmethod
    def for_service(cls, api_key: ApiKey) -> Actor:
        return cls(kind="service", api_key=api_key)

    @property
    def is_supervisor(self) -> bool:
        return self.kind == "agent" and bool(
            self.user.is_superuser or self.user.has_perm("chat.view_conversation")
        )

    @property
    def label(self) -> str:
        if self.kind == "customer":
            return f"customer:{self.customer.pk}"
        if self.kind == "agent":
            return f"agent:{self.user.get_username()}"
        return f"service:{self.api_key.name}"
