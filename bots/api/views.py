"""Flows over REST (/api/v1/bots/): list, read, validate, publish, export and import.
Thin: parse, call one selector or service, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from bots import selectors, services
from bots.api import serializers as s
from bots.models import Flow
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView
from chat.api.serializers import ErrorOut

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _invalid(exc: services.FlowInvalid) -> Response:
    """The API's error shape, plus every graph problem in ``errors``."""
    body = {"code": exc.code, "message": exc.message, "field": exc.field, "errors": exc.errors}
    return Response({"error": body}, status=status.HTTP_400_BAD_REQUEST)


def _flow_out(flow: Flow) -> dict:
    return {
        "id": flow.pk,
        "name": flow.name,
        "slug": flow.slug,
        "description": flow.description,
        "goal": flow.goal,
        "published_version": flow.published_version.number if flow.published_version_id else None,
        "updated_at": flow.updated_at.isoformat(),
    }


def _flow_detail(flow: Flow) -> dict:
    return {
        **_flow_out(flow),
        "draft": flow.draft,
        "versions": [
            {"number": v.number, "published_by": v.published_by, "created_at": v.created_at}
            for v in flow.versions.order_by("-number")
        ],
        "variants": [
            {
                "node": v.node,
                "variant": v.variant,
                "shown": v.shown,
                "converted": v.converted,
                "conversion_rate": v.conversion_rate,
            }
            for v in flow.variant_stats.all()
        ],
    }


def _valid_query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FlowListView(ApiView):
    scope_resource = "flows"

    @extend_schema(
        responses={200: s.FlowListOut, **ERRORS},
        tags=["bots"],
        summary="List bot flows",
        operation_id="bot_flows_list",
    )
    def get(self, request):
        flows = selectors.flow_list_for_actor(actor=actor_for_request(request))
        return Response({"results": [_flow_out(f) for f in flows]})


class FlowDetailView(ApiView):
    scope_resource = "flows"

    @extend_schema(
        responses={200: s.FlowDetailOut, **ERRORS},
        tags=["bots"],
        summary="A flow with its draft, versions and variant counts",
        operation_id="bot_flows_retrieve",
    )
    def get(self, request, slug: str):
        flow = selectors.flow_get_for_actor(actor=actor_for_request(request), slug=slug)
        return Response(_flow_detail(flow))


class FlowExportView(ApiView):
    scope_resource = "flows"

    @extend_schema(
        parameters=[s.ExportQuery],
        responses={200: s.FlowDocument, **ERRORS},
        tags=["bots"],
        summary="Export a flow as a JSON document",
        operation_id="bot_flows_export",
    )
    def get(self, request, slug: str):
        flow = selectors.flow_get_for_actor(actor=actor_for_request(request), slug=slug)
        params = s.ExportQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        version = params.validated_data.get("version")
        document = services.flow_export(flow=flow, version=version)
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="{flow.slug}.flow.json"'
        return response


class FlowImportView(ApiView):
    scope_resource = "flows"

    @extend_schema(
        parameters=[s.ImportQuery],
        request=s.FlowDocument,
        responses={200: s.ImportOut, 201: s.ImportOut, **ERRORS},
        tags=["bots"],
        summary="Import a flow document (creates, or replaces the draft of the same slug)",
        operation_id="bot_flows_import",
    )
    def post(self, request):
        actor = actor_for_request(request)
        selectors.flow_access_check(actor=actor, write=True)
        s.FlowDocument(data=request.data).is_valid(raise_exception=True)
        try:
            flow, created = services.flow_import(
                document=request.data,
                publish=_valid_query(s.ImportQuery, request).get("publish", False),
                published_by=actor.label,
            )
        except services.FlowInvalid as exc:
            return _invalid(exc)
        return Response(
            {"flow": _flow_detail(flow), "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class FlowValidateView(ApiView):
    scope_resource = "flows"

    @extend_schema(
        request=s.ValidateRequest,
        responses={200: s.ValidateOut, **ERRORS},
        tags=["bots"],
        summary="Validate a graph without saving it",
        operation_id="bot_flows_validate",
    )
    def post(self, request):
        selectors.flow_access_check(actor=actor_for_request(request), write=False)
        s.ValidateRequest(data=request.data).is_valid(raise_exception=True)
        errors = services.flow_validate(graph=request.data["graph"])
        return Response({"valid": not errors, "errors": errors})


class FlowPublishView(ApiView):
    scope_resource = "flows"

    @extend_schema(
        request=None,
        responses={200: s.PublishOut, **ERRORS},
        tags=["bots"],
        summary="Publish the draft as a new version (unchanged: the current one)",
        operation_id="bot_flows_publish",
    )
    def post(self, request, slug: str):
        actor = actor_for_request(request)
        flow = selectors.flow_get_for_actor(actor=actor, slug=slug, write=True)
        before = flow.published_version_id
        try:
            version = services.flow_publish(flow=flow, published_by=actor.label)
        except services.FlowInvalid as exc:
            return _invalid(exc)
        return Response(
            {"flow": flow.slug, "version": version.number, "changed": version.pk != before}
        )
