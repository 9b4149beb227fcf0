"""The webhook API: an integrator manages its site's subscriptions, reads the delivery log
and replays. API keys need the ``webhooks:read`` / ``webhooks:write`` scopes and see only
their site's endpoints (a key of all sites names the site on create); staff sessions need the
model permissions. Views parse, call one service, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from chat.actors import Actor
from chat.api import shapes
from chat.api.base import ApiView, Cursor, body_fields
from chat.api.serializers import ErrorOut
from chat.events import HOOK_EVENTS
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Site
from integrations.api import serializers as s
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services.delivery import delivery_replay
from integrations.services.endpoints import (
    SUBSCRIBABLE,
    endpoint_delete,
    endpoint_save,
    endpoint_secret_rotate,
)
from integrations.services.outbox import endpoint_ping

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}
ENDPOINT_ORDERINGS = {"id": ("id",), "-id": ("-id",)}
DELIVERY_ORDERINGS = {"-id": ("-id",), "id": ("id",)}


def _access(request, write: bool) -> int | None:
    """The site the caller is limited to (None: all), or PermissionDenied."""
    if isinstance(request.auth, Actor):  # an API key, or a visitor (who may not)
        key = request.auth.api_key if request.auth.kind == "service" else None
        if key is None:
            raise PermissionDenied("Webhooks are managed with an API key or by staff.")
        scope = "webhooks:write" if write else "webhooks:read"
        if scope not in (getattr(key, "scopes", None) or []):
            raise PermissionDenied(f"This API key lacks the {scope} scope.", code="scope_missing")
        return key.site_id
    user = request.user
    perm = "integrations.change_webhookendpoint" if write else "integrations.view_webhookendpoint"
    if user.is_authenticated and user.is_staff and user.has_perm(perm):
        return None
    raise PermissionDenied("Webhooks are managed with an API key or by staff.")


def _endpoints(request, write: bool):
    site_id = _access(request, write)
    qs = WebhookEndpoint.objects.all()
    return qs if site_id is None else qs.filter(site_id=site_id)


def _endpoint(request, pk: int, write: bool) -> WebhookEndpoint:
    endpoint = _endpoints(request, write).filter(pk=pk).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def _body(request) -> dict[str, Any]:
    return dict(body_fields(request))


def masked_url(url: str) -> str:
    """A receiver's URL as reads show it: a password in it (``https://user:pass@host/``,
    basic auth for the receiver) is as secret as the signing one, so it reads ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def endpoint_out(e: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
    """The signing secret only where it is made (creation, rotation), as an API key's: a
    key that may read webhooks must not be able to sign deliveries in Parley's name."""
    out = {
        "id": e.pk, "site": e.site_id, "url": masked_url(e.url), "events": e.events,
        "description": e.description, "enabled": e.enabled,
        "disabled_reason": e.disabled_reason, "failing_since": e.failing_since,
        "owner_email": e.owner_email, "rate": e.rate, "daily_requests": e.daily_requests,
        "daily_bytes": e.daily_bytes, "secret_prefix": e.secret[:10], "created_at": e.created_at,
    }  # fmt: skip
    if secret:
        out["secret"] = e.secret
    return out


def delivery_out(d: WebhookDelivery, *, log: bool = False) -> dict[str, Any]:
    out = {
        "id": d.pk, "event_id": d.event.msg_id, "event_type": d.event.type,
        "conversation": d.event.conversation_id, "state": d.state, "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at, "last_status": d.last_status,
        "last_error": d.last_error, "replay_of": d.replay_of_id, "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }  # fmt: skip
    if log:
        out["log"] = [
            {
                "number": a.number,
                "created_at": a.created_at,
                "response_status": a.response_status,
                "error": a.error,
                "duration_ms": a.duration_ms,
                "url": masked_url(a.url),
                "request_headers": a.request_headers,
                "request_body": a.request_body,
                "response_headers": a.response_headers,
                "response_body": a.response_body,
            }
            for a in d.log.all()
        ]
    return out


class EventTypesView(ApiView):
    scope_resource = "webhooks"

    @extend_schema(
        responses={200: s.EventTypeOut(many=True), **ERRORS},
        tags=["webhooks"],
        summary="The event types a webhook can subscribe to",
        operation_id="webhook_event_types",
    )
    def get(self, request):
        _access(request, write=False)
        return Response(
            [
                {
                    "name": e.name,
                    "description": e.description,
                    "fields": sorted(e.data),
                    "subscribable": e.name in SUBSCRIBABLE,
                }
                for e in HOOK_EVENTS.values()
            ]
        )


class WebhookListView(ApiView):
    scope_resource = "webhooks"
    idempotency_redact = ("secret",)  # a replayed creation answers null: rotate to see one

    @extend_schema(
        parameters=[shapes.PageQuery],
        responses={200: s.WebhookListOut, **ERRORS},
        tags=["webhooks"],
        summary="List webhook endpoints",
        operation_id="webhooks_list",
    )
    def get(self, request):
        cursor = Cursor(ENDPOINT_ORDERINGS, "id")
        rows = cursor.page(_endpoints(request, write=False), request, self)
        return Response(cursor.envelope([endpoint_out(e) for e in rows]))

    @extend_schema(
        request=s.WebhookIn,
        responses={201: s.WebhookCreatedOut, **ERRORS},
        tags=["webhooks"],
        summary="Subscribe an endpoint to events (the signing secret is in this answer only)",
        operation_id="webhooks_create",
    )
    def post(self, request):
        limited_to = _access(request, write=True)
        values = _body(request)
        site_id = values.pop("site", limited_to)
        if limited_to is not None and site_id != limited_to:
            raise PermissionDenied("This API key is limited to another site.")
        if isinstance(site_id, bool) or not isinstance(site_id, int):
            raise ValidationError("site must be a site's id.", field="site")
        site = Site.objects.filter(pk=site_id).first()
        if site is None:  # a field of the body, as on POST /api-keys/: bad input
            raise ValidationError("No such site.", field="site")
        endpoint = endpoint_save(site=site, **values)
        return Response(endpoint_out(endpoint, secret=True), status=status.HTTP_201_CREATED)


class WebhookDetailView(ApiView):
    scope_resource = "webhooks"

    @extend_schema(responses={200: s.WebhookOut, **ERRORS}, tags=["webhooks"],
                   summary="Get a webhook endpoint", operation_id="webhooks_get")  # fmt: skip
    def get(self, request, webhook_id: int):
        return Response(endpoint_out(_endpoint(request, webhook_id, write=False)))

    @extend_schema(request=s.WebhookPatch, responses={200: s.WebhookOut, **ERRORS},
                   tags=["webhooks"], summary="Change a webhook endpoint (enable it again)",
                   operation_id="webhooks_update")  # fmt: skip
    def patch(self, request, webhook_id: int):
        endpoint = _endpoint(request, webhook_id, write=True)
        values = _body(request)
        if "site" in values:
            raise ValidationError("An endpoint cannot move to another site.", field="site")
        return Response(endpoint_out(endpoint_save(endpoint=endpoint, **values)))

    @extend_schema(responses={204: None, **ERRORS}, tags=["webhooks"],
                   summary="Delete a webhook endpoint", operation_id="webhooks_delete")  # fmt: skip
    def delete(self, request, webhook_id: int):
        endpoint_delete(endpoint=_endpoint(request, webhook_id, write=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretView(ApiView):
    scope_resource = "webhooks"
    idempotency_redact = ("secret",)

    @extend_schema(request=None, responses={200: s.WebhookCreatedOut, **ERRORS},
                   tags=["webhooks"],
                   summary="Rotate the signing secret (the new one is in this answer only)",
                   operation_id="webhooks_rotate_secret")  # fmt: skip
    def post(self, request, webhook_id: int):
        endpoint = endpoint_secret_rotate(endpoint=_endpoint(request, webhook_id, write=True))
        return Response(endpoint_out(endpoint, secret=True))


class DeliveryListView(ApiView):
    scope_resource = "webhooks"

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=["pending", "sending", "delivered", "failed"]),
            shapes.PageQuery,
        ],
        responses={200: s.DeliveryListOut, **ERRORS},
        tags=["webhooks"],
        summary="An endpoint's deliveries, newest first",
        operation_id="webhook_deliveries_list",
    )
    def get(self, request, webhook_id: int):
        endpoint = _endpoint(request, webhook_id, write=False)
        qs = endpoint.deliveries.select_related("event")
        state = request.query_params.get("state")
        if state is not None:
            if state not in WebhookDelivery.State.values:
                raise ValidationError(
                    "state must be pending, sending, delivered or failed.", field="state"
                )
            qs = qs.filter(state=state)
        cursor = Cursor(DELIVERY_ORDERINGS, "-id")
        rows = cursor.page(qs, request, self)
        return Response(cursor.envelope([delivery_out(d) for d in rows]))


def _delivery(request, webhook_id: int, delivery_id: int, write: bool) -> WebhookDelivery:
    endpoint = _endpoint(request, webhook_id, write=write)
    found = endpoint.deliveries.select_related("event").filter(pk=delivery_id).first()
    if found is None:
        raise NotFound("No such delivery.")
    return found


class DeliveryDetailView(ApiView):
    scope_resource = "webhooks"

    @extend_schema(responses={200: s.DeliveryOut, **ERRORS}, tags=["webhooks"],
                   summary="A delivery with its log of requests and responses",
                   operation_id="webhook_deliveries_get")  # fmt: skip
    def get(self, request, webhook_id: int, delivery_id: int):
        return Response(delivery_out(_delivery(request, webhook_id, delivery_id, False), log=True))


class DeliveryReplayView(ApiView):
    scope_resource = "webhooks"

    @extend_schema(request=None, responses={202: s.DeliveryOut, **ERRORS}, tags=["webhooks"],
                   summary="Send a delivery's event again (same webhook-id)",
                   operation_id="webhook_deliveries_replay")  # fmt: skip
    def post(self, request, webhook_id: int, delivery_id: int):
        replay = delivery_replay(delivery=_delivery(request, webhook_id, delivery_id, True))
        return Response(delivery_out(replay), status=status.HTTP_202_ACCEPTED)


class WebhookPingView(ApiView):
    scope_resource = "webhooks"

    @extend_schema(request=None, responses={202: s.DeliveryOut, **ERRORS}, tags=["webhooks"],
                   summary="Send a webhook.ping test event to the endpoint",
                   operation_id="webhooks_ping")  # fmt: skip
    def post(self, request, webhook_id: int):
        delivery = endpoint_ping(endpoint=_endpoint(request, webhook_id, write=True))
        return Response(delivery_out(delivery), status=status.HTTP_202_ACCEPTED)
