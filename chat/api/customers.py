"""Customers over REST (API keys with customers:read/write, supervisors): list and look up
by external id, create or update by external id, get, update, GDPR export and erase."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from chat import selectors
from chat.api import shapes
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView, Cursor
from chat.api.conversations import query, valid
from chat.exceptions import PermissionDenied, ValidationError
from chat.flows import flows
from chat.models import Site
from chat.services import customers as customer_services

ORDERINGS = {"-id": ("-id",), "id": ("id",)}


def customer_out(c) -> dict:
    return {
        "id": c.pk,
        "site": c.site_id,
        "external_id": c.external_id,
        "name": c.name,
        "email": c.email,
        "locale": c.locale,
        "attributes": c.attributes,
        "identity_verified": c.identity_verified,
        "created_at": c.created_at,
        "last_seen_at": c.last_seen_at,
    }


class CustomerListView(ApiView):
    scope_resource = "customers"

    @extend_schema(
        parameters=[shapes.CustomerFilter],
        responses={200: shapes.CustomerPageOut},
        tags=["customers"],
        summary="List customers; ?external_id= looks one up by your own id",
        operation_id="customers_list",
    )
    def get(self, request):
        actor = actor_for_request(request)
        filters = query(shapes.CustomerFilter, request)
        qs = selectors.customers_for_actor(actor=actor)
        for name in ("external_id", "site", "email"):
            if name in filters:
                qs = qs.filter(**{f"{name}_id" if name == "site" else name: filters[name]})
        cursor = Cursor(ORDERINGS, "-id")
        return Response(cursor.envelope([customer_out(c) for c in cursor.page(qs, request, self)]))

    @extend_schema(
        request=shapes.CustomerUpsertRequest,
        responses={200: shapes.CustomerRecordOut, 201: shapes.CustomerRecordOut},
        tags=["customers"],
        summary="Create or update a customer by your external_id (201 created, 200 updated)",
        description="Only the fields given change on an existing customer; `attributes` "
        "replaces the stored object, as PATCH does.",
        operation_id="customers_upsert",
    )
    def post(self, request):
        actor = actor_for_request(request)
        data = dict(valid(shapes.CustomerUpsertRequest, request.data))
        site_id = _site_for(actor, data.pop("site", None))
        customer, created = customer_services.customer_upsert(
            site_id=site_id, external_id=data.pop("external_id"), fields=data
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(customer_out(customer), status=code)


def _site_for(actor, site_id: int | None) -> int:
    """The site a new customer belongs to: the key's own, or the one named."""
    selectors.customers_for_actor(actor=actor)  # who may write customers at all
    own = actor.api_key.site_id if actor.kind == "service" else None
    if own is not None:
        if site_id not in (None, own):
            # As the webhooks answer a key naming another site.
            raise PermissionDenied("This API key is limited to another site.")
        return own
    if site_id is None:
        raise ValidationError("site is required.", field="site")
    if not Site.objects.filter(pk=site_id).exists():
        raise ValidationError("No such site.", field="site")
    return site_id


class CustomerDetailView(ApiView):
    scope_resource = "customers"

    @extend_schema(
        responses={200: shapes.CustomerRecordOut},
        tags=["customers"],
        summary="Get a customer",
        operation_id="customers_retrieve",
    )
    def get(self, request, customer_id: int):
        actor = actor_for_request(request)
        return Response(
            customer_out(selectors.customer_get_for_actor(actor=actor, customer_id=customer_id))
        )

    @extend_schema(
        request=shapes.CustomerUpdateRequest,
        responses={200: shapes.CustomerRecordOut},
        tags=["customers"],
        summary="Update a customer's name, email, locale, external id or attributes",
        operation_id="customers_update",
    )
    def patch(self, request, customer_id: int):
        actor = actor_for_request(request)
        customer = selectors.customer_get_for_actor(actor=actor, customer_id=customer_id)
        data = valid(shapes.CustomerUpdateRequest, request.data)
        customer = customer_services.customer_update(customer=customer, **data)
        return Response(customer_out(customer))


class CustomerExportView(ApiView):
    scope_resource = "customers"

    @extend_schema(
        responses={200: shapes.ExportOut},
        tags=["customers"],
        summary="GDPR export: everything stored about the customer",
        operation_id="customers_export",
    )
    def get(self, request, customer_id: int):
        actor = actor_for_request(request)
        customer = selectors.customer_get_for_actor(actor=actor, customer_id=customer_id)
        return Response(customer_services.customer_export(customer=customer))


class CustomerEraseView(ApiView):
    scope_resource = "customers"

    @extend_schema(
        request=None,
        responses={200: shapes.EraseOut},
        tags=["customers"],
        summary="GDPR erasure: blank the customer and what they wrote (idempotent)",
        operation_id="customers_erase",
    )
    def post(self, request, customer_id: int):
        actor = actor_for_request(request)
        customer = selectors.customer_get_for_actor(actor=actor, customer_id=customer_id)
        return Response(flows.customer_erase(actor=actor, customer=customer))
