"""API key scopes: a key may read or write a resource only with its scope
(``conversations:read``, ``messages:write``, ...). Each view built on ``ApiView`` names its
resource; one that names none is closed to keys. A plain DRF view (no ``scope_resource``
attribute at all) checks scopes itself (integrations' webhook views do). Visitors and
agents are checked by the selectors."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from chat import selectors
from chat.actors import Actor


class ScopeMissing(exceptions.PermissionDenied):
    default_code = "scope_missing"


class HasScope(BasePermission):
    def has_permission(self, request, view) -> bool:
        actor = request.auth if isinstance(request.auth, Actor) else None
        if actor is None or actor.kind != "service":
            return True
        if not hasattr(view, "scope_resource"):
            return True  # a plain APIView: it checks the key's scopes itself
        if getattr(view, "every_key", False):
            return True  # about the key itself (GET /me/): no resource to scope
        resource = view.scope_resource
        write = request.method not in SAFE_METHODS
        needed = f"{resource}:{'write' if write else 'read'}"
        if resource is None:
            raise exceptions.PermissionDenied("API keys cannot use this endpoint.")
        if not selectors.api_key_has_scope(key=actor.api_key, resource=resource, write=write):
            raise ScopeMissing(f"This API key lacks the {needed} scope.")
        return True
