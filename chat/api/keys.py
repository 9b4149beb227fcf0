"""API keys over REST, for staff with the model's permissions (a key cannot manage keys):
list, create (the secret is in that one response), get, update, revoke."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from chat import services
from chat.api import shapes
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView, Cursor
from chat.api.conversations import valid
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import ApiKey, Site

ORDERINGS = {"-id": ("-id",), "id": ("id",)}
# A key's body is configuration (docs/api.md, "Errors"): a field it does not take is a 400,
# so that a misspelt "scope" does not leave a key with every scope. These are in its answer
# but set by the server: sending one (a "secret" of your choosing) is refused, not ignored.
READ_ONLY = tuple(
    name for name in shapes.ApiKeyCreatedOut().fields if name not in shapes.ApiKeyRequest().fields
)


def key_out(key: ApiKey) -> dict:
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "site": key.site_id,
        "scopes": key.scopes,
        "owner": key.owner_id,
        "is_active": key.is_active,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "rate_limit": key.rate_limit,
        "daily_requests": key.daily_requests,
        "daily_bytes": key.daily_bytes,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
    }


def _staff(request, perm: str):
    actor = actor_for_request(request)
    if actor.kind != "agent" or not actor.user.has_perm(f"chat.{perm}_apikey"):
        raise PermissionDenied(f"Managing API keys needs the chat.{perm}_apikey permission.")
    return actor


def _refs(data: dict) -> dict:
    out = dict(data)
    if out.get("site") is not None:
        out["site"] = Site.objects.filter(pk=out["site"]).first()
        if out["site"] is None:
            raise ValidationError("No such site.", field="site")
    if out.get("owner") is not None:
        out["owner"] = get_user_model().objects.filter(pk=out["owner"], is_active=True).first()
        if out["owner"] is None:
            raise ValidationError("No such user.", field="owner")
    return out


def _key(key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        raise NotFound("No such API key.")
    return key


class ApiKeyListView(ApiView):
    # Only a key's hash is ever stored: a replayed creation answers the key, secret null.
    idempotency_redact = ("secret",)

    @extend_schema(
        parameters=[shapes.PageQuery],
        responses={200: shapes.ApiKeyPageOut},
        tags=["api keys"],
        summary="List API keys (staff)",
        operation_id="api_keys_list",
    )
    def get(self, request):
        _staff(request, "view")
        cursor = Cursor(ORDERINGS, "-id")
        rows = cursor.page(ApiKey.objects.all(), request, self)
        return Response(cursor.envelope([key_out(k) for k in rows]))

    @extend_schema(
        request=shapes.ApiKeyRequest,
        responses={201: shapes.ApiKeyCreatedOut},
        tags=["api keys"],
        summary="Create an API key; its secret is in this response only",
        description="A retry with the same Idempotency-Key answers the same key with "
        "`secret` null: the secret is never stored.",
        operation_id="api_keys_create",
    )
    def post(self, request):
        _staff(request, "add")
        data = _refs(valid(shapes.ApiKeyRequest, request.data, read_only=READ_ONLY))
        key, raw = services.api_key_create(**data)
        return Response({**key_out(key), "secret": raw}, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(ApiView):
    @extend_schema(
        responses={200: shapes.ApiKeyOut},
        tags=["api keys"],
        summary="Get an API key (never its secret)",
        operation_id="api_keys_retrieve",
    )
    def get(self, request, key_id: int):
        _staff(request, "view")
        return Response(key_out(_key(key_id)))

    @extend_schema(
        request=shapes.ApiKeyRequest(partial=True),
        responses={200: shapes.ApiKeyOut},
        tags=["api keys"],
        summary="Change an API key's name, scopes, expiry, owner, site or limits",
        operation_id="api_keys_update",
    )
    def patch(self, request, key_id: int):
        _staff(request, "change")
        key = _key(key_id)
        data = valid(shapes.ApiKeyRequest, request.data, partial=True, read_only=READ_ONLY)
        key = services.api_key_update(key=key, **_refs(data))
        return Response(key_out(key))


class ApiKeyRevokeView(ApiView):
    @extend_schema(
        request=None,
        responses={200: shapes.ApiKeyOut},
        tags=["api keys"],
        summary="Revoke an API key for good (idempotent)",
        operation_id="api_keys_revoke",
    )
    def post(self, request, key_id: int):
        _staff(request, "change")
        return Response(key_out(services.api_key_revoke(key=_key(key_id))))
