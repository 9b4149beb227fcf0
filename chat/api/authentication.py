"""DRF authentication for the three kinds of caller. request.auth is always an Actor."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from chat import selectors, services
from chat.actors import Actor
from chat.exceptions import AuthenticationFailed, PermissionDenied


class PrincipalUser:
    """Stands in for request.user when the caller is a visitor or a service."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.pk = None

    def __str__(self) -> str:
        return self.actor.label


def _credentials(request, scheme: str) -> str | None:
    header = authentication.get_authorization_header(request).decode(errors="replace")
    parts = header.split()
    if not parts or parts[0].lower() != scheme.lower():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(f"Use 'Authorization: {scheme} <value>'.")
    return parts[1]


class VisitorTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Visitor <token>`` with a token from POST /api/v1/widget/sessions/."""

    def authenticate(self, request):
        token = _credentials(request, "Visitor")
        if token is None:
            return None
        try:
            customer = selectors.customer_get_from_token(token=token)
        except AuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        actor = Actor.for_customer(customer)
        return PrincipalUser(actor), actor

    def authenticate_header(self, request) -> str:
        # DRF asks the first class only: a refused API key is challenged for a key, anything
        # else for either kind of credentials.
        scheme = authentication.get_authorization_header(request).split(b" ", 1)[0].lower()
        return "Bearer" if scheme == b"bearer" else "Bearer, Visitor"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <api key>`` for backend services."""

    def authenticate(self, request):
        raw = _credentials(request, "Bearer")
        if raw is None:
            return None
        try:
            key = selectors.api_key_get(raw_key=raw)
        except AuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        services.api_key_touch(key=key)
        actor = Actor.for_service(key)
        return PrincipalUser(actor), actor

    def authenticate_header(self, request) -> str:
        return "Bearer"


def actor_for_request(request) -> Actor:
    if isinstance(request.auth, Actor):
        return request.auth
    user = request.user
    if selectors.user_is_agent(user):
        return Actor.for_agent(user)
    raise exceptions.PermissionDenied("This account is not an agent.")


class VisitorScheme(OpenApiAuthenticationExtension):
    target_class = VisitorTokenAuthentication
    name = "visitorToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Visitor <token>`, the token from POST /api/v1/widget/sessions/.",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key from admin."}


def staff_actor_for_request(request, what: str) -> Actor:
    """The caller, who must not be a customer (agents, supervisors, API keys): the floor's
    figures (``what``: "agents", "queues") are not for the widget."""
    actor = actor_for_request(request)
    if actor.kind == "customer":
        raise PermissionDenied(f"Customers cannot read {what}.")
    return actor
