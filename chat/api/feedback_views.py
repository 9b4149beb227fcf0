"""REST for what the widget asks and gives back: the pre-chat form's answers, a CSAT rating,
a transcript by email, and the CSAT report (supervisors and API keys). Thin: parse, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from chat import selectors, services
from chat.api import serializers as s
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView, body_fields
from chat.exceptions import ValidationError
from chat.payloads import csat_payload

ERRORS = {400: s.ErrorOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 409: s.ErrorOut}


class CsatIn(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5, help_text="1 (poor) to 5 (great).")
    comment = s.Text(required=False, allow_blank=True, max_length=2000)


class CsatOut(serializers.Serializer):
    score = serializers.IntegerField()
    comment = serializers.CharField()
    agent = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class CsatAgentOut(serializers.Serializer):
    agent = serializers.IntegerField()
    username = serializers.CharField()
    count = serializers.IntegerField()
    average = serializers.FloatField()


class CsatReportOut(serializers.Serializer):
    count = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    scores = serializers.DictField(
        child=serializers.IntegerField(), help_text="Ratings per score, 1-5."
    )
    agents = CsatAgentOut(many=True)


class TranscriptIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class CsatView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=CsatIn,
        responses={201: CsatOut, **ERRORS},
        tags=["widget"],
        summary="Rate a conversation an agent resolved (the customer, once)",
        operation_id="conversations_csat",
    )
    def post(self, request, conversation_id: int):
        rating = services.csat_submit(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            score=body_fields(request).get("score"),
            comment=body_fields(request).get("comment", ""),
        )
        return Response(csat_payload(rating), status=status.HTTP_201_CREATED)


class TranscriptView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=TranscriptIn,
        responses={202: TranscriptIn, **ERRORS},
        tags=["widget"],
        summary="Email the customer the transcript of their conversation",
        operation_id="conversations_transcript",
    )
    def post(self, request, conversation_id: int):
        email = services.transcript_email_send(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            email=body_fields(request).get("email"),
        )
        return Response({"email": email}, status=status.HTTP_202_ACCEPTED)


class PrechatIn(serializers.Serializer):
    values = serializers.DictField(help_text="The answers, by field name.")


class PrechatView(ApiView):
    scope_resource = "customers"

    @extend_schema(
        request=PrechatIn,
        responses={200: s.CustomerOut, **ERRORS},
        tags=["widget"],
        summary="Answer the site's pre-chat form (the visitor)",
        operation_id="widget_prechat",
    )
    def post(self, request):
        customer = services.prechat_submit(
            actor=actor_for_request(request), values=body_fields(request).get("values")
        )
        return Response(
            {"id": customer.pk, "name": customer.name, "email": customer.email,
             "locale": customer.locale, "identity_verified": customer.identity_verified}
        )  # fmt: skip


class OfflineContactView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=TranscriptIn,
        responses={200: TranscriptIn, **ERRORS},
        tags=["widget"],
        summary="Leave an email address for the answer to an offline message",
        operation_id="conversations_offline_contact",
    )
    def post(self, request, conversation_id: int):
        customer = services.offline_contact_leave(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            email=body_fields(request).get("email"),
        )
        return Response({"email": customer.email})


class CsatReportView(ApiView):
    scope_resource = "reports"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "site",
                {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                description="Only this site's ratings.",
            )
        ],
        responses={200: CsatReportOut, **ERRORS},
        tags=["reports"],
        summary="CSAT after agents' chats: count, average, scores, per agent",
        operation_id="reports_csat",
    )
    def get(self, request):
        site = request.query_params.get("site")
        if site is not None and not (site.isdigit() and 0 < int(site) < 2**63):
            raise ValidationError("site must be a site id.", code="invalid_field", field="site")
        report = selectors.csat_report(
            actor=actor_for_request(request), site_id=int(site) if site else None
        )
        return Response(report)
